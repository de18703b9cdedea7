"""The packaged seed chain (1.0.0 -> 3.0.0) on a real server: counts, round trips, data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from schema_kit.config import Settings, default_sql_dir
from schema_kit.db.databases import Database
from schema_kit.db.migrations import Migrator, apply_script, discover
from schema_kit.errors import MigrationError
from schema_kit.inspect import Snapshot, take_snapshot
from schema_kit.workload.tables import (
    DATA_TABLES,
    LEGACY_TABLES,
    VECTOR_TABLES,
    columns_of,
    table_checksums,
)

# Counts, version names and object names of schema_kit's own chain.
pytestmark = pytest.mark.our_chain

SEED = ["1.0.0", "2.0.0", "2.1.0", "2.2.0", "3.0.0"]
CHAIN = [*SEED, "3.1.0", "3.2.0", "3.3.0"]
Factory = Callable[..., Database]
SQL_DIR = default_sql_dir()
INIT_SCRIPTS = sorted(p.name for p in SQL_DIR.glob("init-postgres*.sql"))


def _declared_version(path: Path) -> str:
    for line in path.read_text("utf-8").splitlines()[:5]:
        if line.startswith("-- version:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{path.name} declares no '-- version:' in its first lines")


def _tables(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    ).fetchall()
    return {r[0] for r in rows}


def _snapshot_at(factory: Factory, version: str | None) -> Snapshot:
    with factory(version).connect() as conn:
        return take_snapshot(conn)


def _migrator(conn: psycopg.Connection[Any], settings: Settings) -> Migrator:
    return Migrator(conn, discover(settings.sql_dir), {"vector_dim": settings.vector_dim})


def test_1_0_0_has_the_19_seed_tables(schema_kit_db_factory: Factory) -> None:
    with schema_kit_db_factory("1.0.0").connect() as conn:
        tables = _tables(conn) - {"schema_kit_migrations"}
    assert len(tables) == 19
    assert tables == set(DATA_TABLES) | set(LEGACY_TABLES) | {"tenants", "knowledge_bases"}


def test_3_0_0_has_13_tables_9_triggers_18_tenant_indexes(schema_kit_db_factory: Factory) -> None:
    with schema_kit_db_factory("3.0.0").connect() as conn:
        tables = _tables(conn)
        snap = take_snapshot(conn)
        versions = conn.execute(
            "SELECT version FROM schema_kit_migrations ORDER BY 1").fetchall()
    assert len(tables) == 13
    assert tables.isdisjoint(LEGACY_TABLES)
    assert tables >= {"tenants", "knowledge_bases", "user_tenant_memberships",
                      "schema_kit_migrations"}
    trigger_tables = {key.split(".")[1] for key in snap["triggers"]}
    assert len(snap["triggers"]) == 9 and trigger_tables == set(DATA_TABLES)
    tenant_indexes = [
        d for d in snap["indexes"].values()
        if d["table"].split(".")[1] in DATA_TABLES and ("tenant_id" in d["definition"])
    ]
    assert len(tenant_indexes) == 18
    assert [v[0] for v in versions] == SEED


def test_init_scripts_cover_the_seed_and_head() -> None:
    declared = {_declared_version(SQL_DIR / name) for name in INIT_SCRIPTS}
    assert declared == {"3.0.0", str(discover(SQL_DIR)[-1].version)}


@pytest.mark.parametrize("script", INIT_SCRIPTS)
def test_init_script_equals_the_chain_at_its_version(
    script: str, schema_kit_db_factory: Factory, schema_kit_settings: Settings
) -> None:
    path = SQL_DIR / script
    version = _declared_version(path)
    chain = _snapshot_at(schema_kit_db_factory, version)
    with schema_kit_db_factory(None).connect() as conn:
        apply_script(conn, path, {"vector_dim": schema_kit_settings.vector_dim})
        init = take_snapshot(conn)
        versions = conn.execute(
            "SELECT version FROM schema_kit_migrations ORDER BY 1").fetchall()
        assert str(_migrator(conn, schema_kit_settings).current()) == version
    assert init.diff(chain) == []
    assert init == chain
    assert [v[0] for v in versions] == CHAIN[: CHAIN.index(version) + 1]


# The round trip through every version (each down restores the previous catalog, back up
# equals a fresh head) is the registered check `round_trip`: tests/schema/test_checks.py.


def _seed_rows(conn: psycopg.Connection[Any], dim: int) -> None:
    workspaces = ["acme:kb1", "acme:kb2", "globex:main", "legacy", "a:b:c"]
    for table in DATA_TABLES:
        for n, workspace in enumerate(workspaces):
            cols = [sql.Identifier("workspace"), sql.Identifier("id")]
            vals: list[sql.Composable] = [sql.Literal(workspace), sql.Literal(f"{table}-{n}")]
            if table in VECTOR_TABLES:
                cols.append(sql.Identifier("content_vector"))
                vals.append(sql.SQL("array_fill({}::real, ARRAY[{}])::vector").format(
                    sql.Literal(n / 10), sql.Literal(dim)
                ))
            conn.execute(
                sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                    sql.Identifier(table), sql.SQL(", ").join(cols), sql.SQL(", ").join(vals)
                )
            )
    conn.commit()


def _seed_split(workspace: str) -> tuple[str, str]:
    """The seed's own extraction (defects included): what 2.0.0's expressions compute."""
    if ":" in workspace:
        parts = workspace.split(":")
        return parts[0], parts[1]
    return workspace, "default"


def test_rows_from_1_0_0_survive_to_3_0_0_and_back(
    schema_kit_db_factory: Factory, schema_kit_settings: Settings
) -> None:
    with schema_kit_db_factory("1.0.0").connect() as conn:
        _seed_rows(conn, schema_kit_settings.vector_dim)
        columns = columns_of(conn, DATA_TABLES)
        before = table_checksums(conn, columns)
        migrator = _migrator(conn, schema_kit_settings)
        migrator.migrate("3.0.0")
        assert table_checksums(conn, columns) == before
        for table in DATA_TABLES:
            rows = conn.execute(
                sql.SQL("SELECT workspace, tenant_id, kb_id FROM {}").format(sql.Identifier(table))
            ).fetchall()
            assert len(rows) == 5
            for workspace, tenant_id, kb_id in rows:
                assert (tenant_id, kb_id) == _seed_split(workspace), (table, workspace)
        conn.rollback()
        migrator.migrate("1.0.0")
        assert table_checksums(conn, columns) == before
        migrator.migrate("3.0.0")
        assert table_checksums(conn, columns) == before


def test_fix_refuses_unparseable_rows_with_a_listing_and_keeps_everything(
    schema_kit_db_factory: Factory, schema_kit_settings: Settings
) -> None:
    """3.1.0 never drops a row the new rule refuses: it stops and lists them."""
    with schema_kit_db_factory("3.0.0").connect() as conn:
        _seed_rows(conn, schema_kit_settings.vector_dim)
        columns = columns_of(conn, DATA_TABLES)
        before, snap = table_checksums(conn, columns), take_snapshot(conn)
        migrator = _migrator(conn, schema_kit_settings)
        with pytest.raises(MigrationError) as info:
            migrator.migrate("3.1.0")
        assert "[23514]" in str(info.value) and "'legacy'" in str(info.value)
        assert isinstance(info.value.__cause__, psycopg.errors.CheckViolation)
        assert table_checksums(conn, columns) == before
        assert take_snapshot(conn) == snap
        assert str(migrator.current()) == "3.0.0"
        # The remedy the message gives works, and 3.1.0 then re-files 'a:b:c' as ('a', 'b:c').
        for table in DATA_TABLES:
            conn.execute(
                sql.SQL("UPDATE {} SET workspace = 'legacy:default' WHERE workspace = 'legacy'")
                .format(sql.Identifier(table))
            )
        conn.commit()
        migrator.migrate("3.1.0")
        row = conn.execute(
            "SELECT tenant_id, kb_id FROM lightrag_doc_full WHERE workspace = 'a:b:c'"
        ).fetchone()
        assert row == ("a", "b:c")
