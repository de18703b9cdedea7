"""Recording what ran, and turning it into a psql script that reproduces a violation."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from schema_kit.writes import Operation

__all__ = ["Outcome", "Recorder", "replay_dir"]


def replay_dir() -> Path:
    """Where replay scripts go: ``SCHEMA_KIT_REPLAY_DIR`` or ``.schema_kit/replays``."""
    return Path(os.environ.get("SCHEMA_KIT_REPLAY_DIR", ".schema_kit/replays"))


@dataclass(frozen=True)
class Outcome:
    """One statement and how it ended: ``error`` is None, or SQLSTATE and message."""

    text: str
    error: str | None = None

    @property
    def refused(self) -> bool:
        return self.error is not None


@dataclass
class Recorder:
    """Runs operations in savepoints and keeps the exact SQL of each, in order."""

    conn: psycopg.Connection[Any]
    outcomes: list[Outcome] = field(default_factory=list)

    def run(self, op: Operation | sql.Composable) -> Outcome:
        """Run one statement; a refusal rolls back that statement only and is recorded."""
        statement = op.statement() if isinstance(op, Operation) else op
        try:
            text = statement.as_string(self.conn)
        except psycopg.DataError as exc:  # e.g. NUL: the driver refuses before sending
            outcome = Outcome(f"-- not sent: {exc}", f"driver: {exc}")
            self.outcomes.append(outcome)
            return outcome
        # Explicit savepoints, not conn.transaction(): at top level that would commit, and the
        # caller decides whether the enclosing transaction commits or rolls back.
        self.conn.execute("SAVEPOINT schema_kit_statement")
        try:
            self.conn.execute(text.encode())
            outcome = Outcome(text)
        except psycopg.Error as exc:
            self.conn.execute("ROLLBACK TO SAVEPOINT schema_kit_statement")
            state = exc.sqlstate or "no SQLSTATE"
            outcome = Outcome(text, f"{state}: {exc.diag.message_primary or exc}")
        self.conn.execute("RELEASE SAVEPOINT schema_kit_statement")
        self.outcomes.append(outcome)
        return outcome

    def mark(self, text: str) -> None:
        """Record a line that was not run through ``run`` (COMMIT, ROLLBACK, a comment)."""
        self.outcomes.append(Outcome(text))

    def script(self, version: str, vector_dim: int, invariant: str, query: str) -> str:
        lines = [
            f"-- schema_kit replay: invariant '{invariant}' at schema version {version}",
            f"-- Run against a fresh database at {version} (e.g. `schema-kit migrate --to "
            f"{version}`):",
            f"--   psql -v vector_dim={vector_dim} -f THIS_FILE",
            "",
        ]
        for outcome in self.outcomes:
            if outcome.error:
                lines.append(f"-- refused when recorded ({outcome.error}):")
            lines.append(outcome.text.rstrip(";") + ";")
        lines += ["", "-- the violation:", query.rstrip(";") + ";", ""]
        return "\n".join(lines)

    def write(self, version: str, vector_dim: int, invariant: str, query: str) -> Path:
        text = self.script(version, vector_dim, invariant, query)
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        path = replay_dir() / f"{invariant}-{version}-{digest}.sql"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path.resolve()
