"""Scripts that run their own transactions (``BEGIN; … COMMIT;`` in the file), applied as
``psql -f`` applies them.

Such a script cannot be all-or-nothing: its COMMIT ends any transaction the migrator opens
around it. So it runs as psql runs it (autocommit, its own blocks as written, stopping at the
first error), and a failure says exactly which statements were committed and remain.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from schema_kit.db.sqlscript import Script, Statement, line_of, split

__all__ = [
    "OwnTransactionFailed",
    "Ran",
    "run_as_psql",
    "transaction_control",
    "transaction_lines",
]

# A statement that opens or ends a transaction block. BEGIN ATOMIC (a function body) never
# starts a top-level statement; ROLLBACK TO (a savepoint) and 2PC's … PREPARED end nothing.
_OPENS = re.compile(r"(?i)(begin|start\s+transaction)\b")
_ENDS = re.compile(r"(?i)(commit|end|rollback|abort)\b(?!\s+(to|prepared)\b)")


def _kind(text: str) -> str | None:
    if _OPENS.match(text):
        return "open"
    if _ENDS.match(text):
        return "commit" if re.match(r"(?i)(commit|end)\b", text) else "rollback"
    return None


def transaction_control(script: Script) -> list[int]:
    """The lines of the file where a statement begins or ends a transaction block."""
    return [script.line_at(s.start) for s in script.statements if _kind(script.text(s))]


def transaction_lines(text: str) -> list[int]:
    """The same for a text read as it is (no parameters rendered)."""
    return [line_of(text, s.start) for s in split(text) if _kind(text[s.start:s.end])]


@dataclass
class Ran:
    """What a psql-style run committed: lines of the statements that remain."""

    kept: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)  # in the open block, not yet committed
    # The line of a BEGIN whose block the script never ended (psql's exit rolls it back).
    unclosed: int | None = None

    def describe(self) -> str:
        if not self.kept:
            return "nothing of it was committed"
        lines = f"line {self.kept[0]}" if len(self.kept) == 1 else (
            f"lines {self.kept[0]}-{self.kept[-1]}")
        return f"{len(self.kept)} statement(s) before it were committed and remain ({lines})"


class OwnTransactionFailed(Exception):
    """A statement of a self-transacting script failed; ``ran`` says what was kept."""

    def __init__(self, statement: Statement, error: psycopg.Error, ran: Ran) -> None:
        super().__init__(str(error))
        self.statement, self.error, self.ran = statement, error, ran


def run_as_psql(
    conn: psycopg.Connection[Any], script: Script,
    execute: Callable[[psycopg.Connection[Any], str], None],
) -> Ran:
    """Run ``script`` statement by statement in autocommit, its own blocks as written; on the
    first error roll back the open block and raise OwnTransactionFailed. ``conn`` must be idle;
    it is left idle and not autocommit."""
    ran = Ran()
    conn.autocommit = True
    try:
        for statement in script.statements:
            text = script.text(statement)
            line = script.line_at(statement.start)
            try:
                execute(conn, text)
            except psycopg.Error as exc:
                raise OwnTransactionFailed(statement, exc, ran) from exc
            kind = _kind(text)
            in_block = conn.info.transaction_status != TransactionStatus.IDLE
            if kind == "open":
                ran.unclosed = line
            if kind == "commit":
                ran.kept += ran.pending
                ran.pending = []
            elif kind == "rollback":
                ran.pending = []
            elif kind is None:
                (ran.pending if in_block else ran.kept).append(line)
        if conn.info.transaction_status == TransactionStatus.IDLE:
            ran.unclosed = None
    finally:
        if conn.info.transaction_status != TransactionStatus.IDLE:
            conn.execute("ROLLBACK")  # a block the script left open, or one that failed
        conn.autocommit = False
    ran.pending = []
    return ran
