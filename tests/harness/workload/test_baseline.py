"""The oracle starts from a baseline: whatever the chain itself put in the registry and the
tables before the first generated write; a statement the database refused never enters it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from schema_kit.checks import REGISTRY, InvariantError, assert_invariants_hold, session_target
from schema_kit.config import default_sql_dir
from schema_kit.db.databases import Templates
from schema_kit.db.harness import Harness
from schema_kit.db.migrations import discover
from schema_kit.workload.oracle import Partition
from schema_kit.workload.session import WriteSession
from schema_kit.workload.strategies import Batch
from schema_kit.workload.writes import Row

SEED_UP = """-- seed tenants the chain ships with
INSERT INTO tenants (tenant_id, name) VALUES ('seed-a', 'A'), ('seed-b', 'B');
INSERT INTO knowledge_bases (tenant_id, kb_id, name)
VALUES ('seed-a', 'main', 'main'), ('seed-a', 'docs', 'docs'), ('seed-b', 'main', 'main');
INSERT INTO lightrag_doc_full (workspace, id, content) VALUES ('seed-a:docs', 'welcome', 'hi');
"""
SEED_DOWN = """-- remove the seed tenants
DELETE FROM tenants WHERE tenant_id IN ('seed-a', 'seed-b');
"""


@pytest.fixture
def seeded(schema_kit_harness: Harness, tmp_path: Path) -> Iterator[psycopg.Connection[Any]]:
    """A head database of our chain plus a migration that seeds tenants, kbs and a row."""
    sql_dir = tmp_path / "sql"
    shutil.copytree(default_sql_dir(), sql_dir)
    head = discover(sql_dir)[-1].version
    version = f"{head.parts[0]}.{head.parts[1] + 1}.0"
    (sql_dir / "migrations" / f"{version}_seed_tenants.up.sql").write_text(SEED_UP)
    (sql_dir / "migrations" / f"{version}_seed_tenants.down.sql").write_text(SEED_DOWN)
    templates = Templates(schema_kit_harness.scratch, sql_dir, schema_kit_harness.params)
    with templates.database("head") as db, db.connect() as conn:
        yield conn
        conn.rollback()


def _batch() -> Batch:
    return Batch((Row("lightrag_doc_chunks", "acme:kb1", "1", "x"),
                  Row("lightrag_doc_full", "seed-a:main", "2", "y")))


def test_seed_registry_and_rows_are_the_baseline(
    seeded: psycopg.Connection[Any], tmp_path: Path
) -> None:
    session = WriteSession(seeded, "head", 1024)
    assert {"seed-a", "seed-b"} <= session.model.tenants
    assert Partition("seed-a", "docs") in session.model.kbs
    assert len(session.model.rows) == 1
    session.write(_batch())
    assert_invariants_hold(session, REGISTRY.over_writes(), tmp_path)
    assert session.model.tenants == {"seed-a", "seed-b", "acme"}


def test_without_the_baseline_the_seed_tenants_are_a_false_alarm(
    seeded: psycopg.Connection[Any], tmp_path: Path
) -> None:
    session = WriteSession(seeded, "head", 1024, baseline=False)
    session.write(_batch())
    with pytest.raises(InvariantError) as info:
        assert_invariants_hold(session, [REGISTRY["registration"]], tmp_path)
    assert "tenant registered that no write introduced" in str(info.value)
    assert "seed-b" in str(info.value)


def test_a_refused_statement_never_enters_the_model(
    schema_kit_db_factory: Any, tmp_path: Path
) -> None:
    with schema_kit_db_factory("head").connect() as conn:
        session = WriteSession(conn, "head", 1024)
        # An id too long for VARCHAR(255): the contract accepts the workspace, PostgreSQL
        # refuses the statement (22001), as it would a deadlock victim's.
        outcome, = session.write(Batch((Row("lightrag_doc_chunks", "acme:kb1", "1", "x"),
                                        Row("lightrag_doc_chunks", "acme:kb1", "i" * 300, "y"))))
        assert outcome.error is not None and outcome.error.startswith("22001")
        assert session.model.rows == {} and session.model.tenants == set()
        target = session_target(session)
        assert REGISTRY["registration"].run(target) == []
        assert REGISTRY["isolation"].run(target) == []
        assert len(REGISTRY["acceptance"].run(target)) == 1  # reported once, as a refusal
        conn.rollback()
