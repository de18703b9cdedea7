"""3.2.0 without LightRAG: discovered data tables, the vector suffix, the guard, adoption."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from schema_kit.db.databases import Database, Templates
from schema_kit.db.harness import Harness
from schema_kit.db.migrations import Migrator, discover, render
from schema_kit.errors import MigrationError
from schema_kit.inspect import take_snapshot
from schema_kit.workload.tables import DATA_TABLES, tenant_tables

# Counts, version names and object names of schema_kit's own chain.
pytestmark = pytest.mark.our_chain

Factory = Callable[..., Database]
LIGHTRAG_TABLES = {*DATA_TABLES, "lightrag_entity_chunks", "lightrag_relation_chunks"}


def test_render_quotes_string_parameters_for_their_position() -> None:
    text = "SELECT f(:'s'), :\"s\", :n, :'unknown', 'a:b', x::text"
    params = {"s": "it's \"x\"", "n": 7}
    assert render(text, params) == (
        "SELECT f('it''s \"x\"'), \"it's \"\"x\"\"\", 7, :'unknown', 'a:b', x::text"
    )
    with pytest.raises(MigrationError, match=r"takes an integer; write :'s'"):
        render("SELECT :s", params)


@pytest.mark.parametrize(("version", "count"), [("3.0.0", 9), ("3.1.0", 9), ("head", 11)])
def test_tenant_tables_are_read_from_the_catalog(
    version: str, count: int, schema_kit_db_factory: Factory
) -> None:
    with schema_kit_db_factory(version).connect() as conn:
        tables = tenant_tables(conn)
    assert len(tables) == count
    assert set(tables) <= LIGHTRAG_TABLES
    with schema_kit_db_factory("1.0.0").connect() as conn:
        assert tenant_tables(conn) == ()


def _templates(harness: Harness, suffix: str) -> Templates:
    return Templates(harness.scratch, harness.settings.sql_dir,
                     {**harness.params, "vector_suffix": suffix})


@pytest.mark.parametrize("suffix", ["text_embedding_3_large_3072d", "m" * 40])
def test_vector_suffix_renames_the_vector_tables_and_rolls_back_exactly(
    suffix: str, schema_kit_harness: Harness, schema_kit_db_factory: Factory
) -> None:
    with schema_kit_db_factory("3.1.0").connect() as conn:
        at_3_1_0 = take_snapshot(conn)
    with _templates(schema_kit_harness, suffix).database("head") as db, db.connect() as conn:
        fresh = take_snapshot(conn)
        tables = tenant_tables(conn)
        expected = {f"lightrag_vdb_{t}_{suffix}" for t in ("chunks", "entity", "relation")}
        assert expected <= set(tables) and len(tables) == 11
        names = [n for kind in ("constraints", "indexes", "triggers") for n in fresh.names(kind)]
        # Long suffixes shorten object names (md5 tag) instead of truncating them into clashes.
        assert all(len(n.split(".")[-1].encode()) <= 63 for n in names)
        # Every contract table keeps its 3 registration triggers under distinct names (a
        # truncated name would have made two of them one).
        per_table = {t: {n for n in fresh.names("triggers") if n.split(".")[1] == t}
                     for t in tables}
        assert {t: len(n) for t, n in per_table.items()} == {t: 3 for t in tables}
        params = {**schema_kit_harness.params, "vector_suffix": suffix}
        migrator = Migrator(conn, discover(schema_kit_harness.settings.sql_dir), params)
        migrator.migrate("3.1.0")
        assert take_snapshot(conn).diff(at_3_1_0) == []
        migrator.migrate("head")
        assert take_snapshot(conn).diff(fresh) == []


def _fails(conn: psycopg.Connection[Any], statement: str) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as info:
        conn.execute(statement.encode())
    conn.rollback()
    return info.value


@pytest.mark.parametrize("statement", [
    "DROP TRIGGER trg_lightrag_doc_full_register_insert ON lightrag_doc_full",
    "ALTER TABLE lightrag_entity_chunks DROP COLUMN kb_id",
    "ALTER TABLE lightrag_doc_status DROP CONSTRAINT lightrag_doc_status_kb_fk",
    "DROP TABLE lightrag_vdb_chunks",
])
def test_the_tenant_contract_cannot_be_dropped_by_accident(
    statement: str, schema_kit_db_factory: Factory
) -> None:
    with schema_kit_db_factory("head").connect() as conn:
        error = _fails(conn, statement)
        assert isinstance(error, psycopg.errors.DependentObjectsStillExist)
        assert error.diag.message_primary is not None
        assert "refusing to drop the tenant contract" in error.diag.message_primary
        assert "vector_suffix" in (error.diag.message_hint or "")
        # A migration that means it says so.
        conn.execute("SET LOCAL schema_kit.allow_tenant_ddl = on")
        conn.execute(statement.encode())
        conn.rollback()
        conn.execute("ALTER TABLE lightrag_doc_full DROP COLUMN content")  # not the contract
        conn.rollback()


def test_a_lightrag_table_created_at_head_is_under_the_contract(
    schema_kit_db_factory: Factory,
) -> None:
    with schema_kit_db_factory("head").connect() as conn:
        conn.execute("CREATE TABLE lightrag_graph_nodes (id VARCHAR(255), "
                     "workspace VARCHAR(255), payload JSONB, PRIMARY KEY (workspace, id))")
        conn.execute("CREATE TABLE notes (id TEXT, workspace TEXT)")  # not LightRAG's
        assert "lightrag_graph_nodes" in tenant_tables(conn)
        assert "notes" not in tenant_tables(conn)
        conn.execute("INSERT INTO lightrag_graph_nodes (id, workspace) VALUES ('n', 'acme:a:b')")
        conn.commit()
        assert conn.execute("SELECT tenant_id, kb_id FROM lightrag_graph_nodes").fetchone() == (
            "acme", "a:b")
        assert conn.execute("SELECT kb_id FROM knowledge_bases").fetchall() == [("a:b",)]
        error = _fails(conn, "INSERT INTO lightrag_graph_nodes (id, workspace) VALUES ('x', 'y')")
        assert isinstance(error, psycopg.errors.CheckViolation)


def test_a_table_lightrag_made_before_3_2_0_is_adopted_or_listed(
    schema_kit_db_factory: Factory, schema_kit_harness: Harness
) -> None:
    with schema_kit_db_factory("3.1.0").connect() as conn:
        conn.execute("CREATE TABLE lightrag_entity_chunks (id VARCHAR(512), "
                     "workspace VARCHAR(255), chunk_ids JSONB, count INTEGER, "
                     "create_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP, "
                     "update_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP, "
                     "CONSTRAINT lightrag_entity_chunks_pk PRIMARY KEY (workspace, id))")
        conn.execute("INSERT INTO lightrag_entity_chunks (id, workspace) VALUES "
                     "('e1', 'acme:kb1'), ('e2', 'legacy')")
        conn.commit()
        migrator = Migrator(conn, discover(schema_kit_harness.settings.sql_dir),
                            schema_kit_harness.params)
        with pytest.raises(MigrationError) as info:
            migrator.migrate("head")
        assert "[23514]" in str(info.value) and "'legacy'" in str(info.value)
        assert str(migrator.current()) == "3.1.0"
        conn.execute("UPDATE lightrag_entity_chunks SET workspace = 'legacy:default' "
                     "WHERE workspace = 'legacy'")
        conn.commit()
        migrator.migrate("head")
        rows = conn.execute("SELECT id, tenant_id, kb_id FROM lightrag_entity_chunks "
                            "ORDER BY 1").fetchall()
        assert rows == [("e1", "acme", "kb1"), ("e2", "legacy", "default")]
        registered = conn.execute("SELECT tenant_id, kb_id FROM knowledge_bases "
                                  "ORDER BY 1, 2").fetchall()
        assert registered == [("acme", "kb1"), ("legacy", "default")]
        # Rolled back below 3.2.0, the rows stay (without the contract); up adopts them again.
        migrator.migrate("3.1.0")
        assert conn.execute("SELECT count(*) FROM lightrag_entity_chunks").fetchone() == (2,)
        assert "lightrag_entity_chunks" not in tenant_tables(conn)
        conn.rollback()
