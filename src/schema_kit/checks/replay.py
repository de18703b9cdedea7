"""Recording what ran, and turning it into a psql script that reproduces a violation."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from schema_kit.workload.writes import Operation

__all__ = ["Outcome", "Recorder", "replay_dir"]


def replay_dir() -> Path:
    """Where replay scripts go: ``SCHEMA_KIT_REPLAY_DIR`` or ``.schema_kit/replays``."""
    return Path(os.environ.get("SCHEMA_KIT_REPLAY_DIR", ".schema_kit/replays"))


@dataclass(frozen=True)
class Outcome:
    """One statement and how it ended: ``error`` is None, or SQLSTATE and message."""

    query: sql.SQL | sql.Composed
    params: Sequence[Any] = ()
    error: str | None = None

    def text(self, conn: psycopg.Connection[Any]) -> str:
        """The statement with its values merged in as SQL literals, as psql would run it."""
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
        self.outcomes.append(Outcome(sql.SQL(text)))

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
            text = outcome.text(self.conn)
            lines.append(text if text.startswith("--") else text.rstrip(";") + ";")
        lines += ["", "-- the violation:", query.rstrip(";") + ";", ""]
        return "\n".join(lines)

    def write(self, version: str, vector_dim: int, invariant: str, query: str) -> Path:
        text = self.script(version, vector_dim, invariant, query)
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        path = replay_dir() / f"{invariant}-{version}-{digest}.sql"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path.resolve()
