"""Recording what ran, in order, so a failure can be written as a psql script that replays it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from schema_kit.workload.writes import Operation

__all__ = ["Outcome", "Recorder"]


@dataclass(frozen=True)
class Outcome:
    """One statement and how it ended: ``error`` is None, or SQLSTATE and message. A line the
    harness did not run itself (COMMIT, ROLLBACK, a comment) is a ``note`` with no query."""

    query: sql.SQL | sql.Composed | None
    params: Sequence[Any] = ()
    error: str | None = None
    note: str = ""

    def text(self, conn: psycopg.Connection[Any]) -> str:
        """The statement with its values merged in as SQL literals, as psql would run it."""
        if self.query is None:
            return self.note
        if not self.params:
            return self.query.as_string(conn)
        try:
            return psycopg.ClientCursor(conn).mogrify(self.query, self.params)
        except psycopg.DataError as exc:  # a value PostgreSQL cannot hold (NUL)
            return f"-- not sendable: {exc}"


@dataclass
class Recorder:
    """Runs operations in savepoints and keeps the exact SQL of each, in order."""

    conn: psycopg.Connection[Any]
    outcomes: list[Outcome] = field(default_factory=list)

    def run(self, op: Operation) -> Outcome:
        """Run one statement; a refusal rolls back that statement only and is recorded."""
        query, params = op.query()
        # Explicit savepoints, not conn.transaction(): at top level that would commit, and the
        # caller decides whether the enclosing transaction commits or rolls back.
        self.conn.execute("SAVEPOINT schema_kit_statement")
        try:
            self.conn.execute(query, params)
            outcome = Outcome(query, params)
        except psycopg.Error as exc:
            self.conn.execute("ROLLBACK TO SAVEPOINT schema_kit_statement")
            if exc.sqlstate is None:  # refused by the driver before sending (e.g. NUL)
                outcome = Outcome(query, params, f"driver: {exc}")
            else:
                outcome = Outcome(query, params, f"{exc.sqlstate}: {exc.diag.message_primary}")
        self.conn.execute("RELEASE SAVEPOINT schema_kit_statement")
        self.outcomes.append(outcome)
        return outcome

    def mark(self, text: str) -> None:
        """Record a line that was not run through ``run`` (COMMIT, ROLLBACK, a comment)."""
        self.outcomes.append(Outcome(None, note=text))

    def statements(self) -> list[str]:
        """Every recorded statement as psql would run it; refusals marked by a comment."""
        lines: list[str] = []
        for outcome in self.outcomes:
            if outcome.error:
                lines.append(f"-- refused when recorded ({outcome.error}):")
            text = outcome.text(self.conn)
            lines.append(text if text.startswith("--") else text.rstrip(";") + ";")
        return lines
