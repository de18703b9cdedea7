"""Throw-away servers run without durability; a server named with `dsn` is never reconfigured."""

from __future__ import annotations

import pytest

from schema_kit.config import Settings
from schema_kit.connect import connect
from schema_kit.db.harness import Harness
from schema_kit.provision.base import THROWAWAY_SETTINGS, durability
from schema_kit.provision.embedded import start_embedded
from tests.harness.children import child_tmpdir


def _shown(dsn: str) -> dict[str, str]:
    with connect(dsn, autocommit=True) as conn:
        return durability(conn)


OFF = dict.fromkeys(THROWAWAY_SETTINGS, "off")


def test_the_session_server_runs_without_durability(schema_kit_harness: Harness) -> None:
    # Whichever backend this run started (embedded, or the container in CI's second run).
    server = schema_kit_harness.server
    if server.backend == "dsn":
        pytest.skip("a dsn server is the user's, never reconfigured: the test below proves it")
    assert _shown(server.dsn) == OFF


def test_embedded_server_runs_without_durability() -> None:
    with child_tmpdir() as tmpdir, start_embedded(base_dir=tmpdir) as server:
        assert _shown(server.dsn) == OFF


@pytest.mark.e2e
def test_a_dsn_server_is_never_reconfigured() -> None:
    # A server as a user runs it: the wheel's own settings, none of the harness's.
    with child_tmpdir() as tmpdir, start_embedded(base_dir=tmpdir, durable=True) as plain:
        before = _shown(plain.dsn)
        assert before == dict.fromkeys(THROWAWAY_SETTINGS, "on")  # PostgreSQL's defaults
        harness = Harness(Settings(backend="dsn", dsn=plain.dsn), tag="dur")
        try:
            db = harness.database("head")  # a template built and cloned on it
            with db.connect() as conn:
                assert conn.execute("SELECT count(*) FROM tenants").fetchone() == (0,)
        finally:
            harness.close()
        assert _shown(plain.dsn) == before
        with connect(plain.dsn, autocommit=True) as conn:  # nothing written by ALTER SYSTEM
            rows = conn.execute(
                "SELECT name FROM pg_file_settings WHERE sourcefile LIKE %s",
                ("%postgresql.auto.conf",),
            ).fetchall()
        assert rows == []
