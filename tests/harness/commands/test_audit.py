"""schema-kit audit on a database the harness did not create: finds, and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from psycopg import sql

from schema_kit.checks import REGISTRY
from schema_kit.commands.audit import run_audit
from schema_kit.connect import connect
from schema_kit.db.harness import Harness
from schema_kit.db.migrations import Migrator, discover
from schema_kit.inspect import take_snapshot
from schema_kit.workload.tables import DATA_TABLES, columns_of, table_checksums

TARGET = "audit_target_not_scratch"


@pytest.fixture
def live_db(schema_kit_harness: Harness) -> Iterator[str]:
    """A 3.0.0 database created by 'someone else', holding the seed's typical damage."""
    admin = schema_kit_harness.scratch.admin
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TARGET)))
    dsn = schema_kit_harness.scratch.dsn(TARGET)
    try:
        with connect(dsn) as conn:
            Migrator(conn, discover(schema_kit_harness.settings.sql_dir),
                     schema_kit_harness.params).migrate("3.0.0")
            for ws, row_id in (("acme:kb1", "1"), ("a:b", "2"), ("a:b:c", "3"), ("legacy", "4"),
                               ("x:", "5")):
                conn.execute("INSERT INTO lightrag_doc_chunks (workspace, id) VALUES (%s, %s)",
                             (ws, row_id))
            conn.execute("INSERT INTO user_tenant_memberships (user_id, tenant_id, role) "
                         "VALUES ('alice', 'acme', 'viewer')")
            # An operator "fixed" things by hand: a tenant deleted without its membership
            # (foreign keys bypassed) and an index dropped.
            conn.execute("SET session_replication_role = replica")
            conn.execute("DELETE FROM tenants WHERE tenant_id = 'acme'")
            conn.execute("DROP INDEX idx_lightrag_doc_full_tenant_kb")
            conn.commit()
        yield dsn
    finally:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TARGET))
        )


def _state(dsn: str) -> tuple[Any, ...]:
    with connect(dsn) as conn:
        data = table_checksums(conn, columns_of(conn, (*DATA_TABLES, "tenants",
                                                       "knowledge_bases", "schema_kit_migrations")))
        return take_snapshot(conn), data


def test_audit_finds_seeded_inconsistencies_and_changes_nothing(
    live_db: str, schema_kit_harness: Harness
) -> None:
    before = _state(live_db)
    result = run_audit(live_db, schema_kit_harness.settings.sql_dir, schema_kit_harness.templates)
    assert _state(live_db) == before
    kinds: dict[str, str] = {}
    for finding in result.findings:
        kinds[finding.kind] = kinds.get(finding.kind, "") + finding.detail + "\n"
    assert result.version == "3.0.0"
    assert "'a:b:c'" in kinds["extraction"]
    assert "'legacy'" in kinds["bad_input"]
    assert "'acme'" in kinds["registered"]
    assert "a:b | a:b:c" in kinds["partitions_disjoint"]
    assert "'alice'" in kinds["memberships_known"]
    # Audit runs exactly the registry's model-free checks (and its catalog and version ones).
    assert set(kinds) - {"catalog drift", "version", "checksum"} <= {
        c.name for c in REGISTRY.model_free()}
    assert ("idx_lightrag_doc_full_tenant_kb: only in a fresh install of 3.0.0"
            in kinds["catalog drift"])
    assert any("pending migrations: 3.1.0" in n for n in result.notes)
    assert not result.clean


def test_clean_head_database_has_no_findings(schema_kit_harness: Harness) -> None:
    db = schema_kit_harness.templates.clone("head", purpose="aud")
    try:
        result = run_audit(db.dsn, schema_kit_harness.settings.sql_dir,
                           schema_kit_harness.templates)
        assert result.findings == []
        assert result.version == str(discover(schema_kit_harness.settings.sql_dir)[-1].version)
    finally:
        schema_kit_harness.scratch.drop(db.name)
