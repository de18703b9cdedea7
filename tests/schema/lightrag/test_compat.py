"""What current LightRAG does to the schema at start-up, and what 3.2.0 makes of it.

LightRAG 1.5 names its vector tables after the embedding model and treats plain
LIGHTRAG_VDB_* tables as legacy: it drops them when empty and copies them with SELECT * when
not. A database migrated without the matching vector_suffix must fail loudly there and keep
every tenant column, trigger and row; a table LightRAG creates must come under the contract.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import psycopg
import pytest

from schema_kit.db.harness import Harness
from schema_kit.workload.tables import columns_of, table_checksums, tenant_tables
from tests.schema.lightrag.client import (
    MODEL_NAME,
    WORKSPACES,
    check_invariants,
    document,
    lightrag_env,
    make_rag,
    release_shared_pool,
    rows_per_table,
    suffix_for,
)
from tests.schema.lightrag.conftest import DbFactory

pytestmark = [pytest.mark.lightrag, pytest.mark.our_chain]

PLAIN = ("lightrag_vdb_chunks", "lightrag_vdb_entity", "lightrag_vdb_relation")


async def _write(workdir: Path, dim: int, model: str | None, workspaces: tuple[str, ...]) -> None:
    rags: dict[str, Any] = {w: make_rag(workdir, w, dim, model) for w in workspaces}
    started: list[Any] = []
    try:
        for rag in rags.values():
            await rag.initialize_storages()
            started.append(rag)
        for workspace, rag in rags.items():
            await rag.ainsert([document(workspace, 1)], ids=["doc-1"])
    finally:
        for rag in started:
            await rag.finalize_storages()
        await release_shared_pool()


async def _start_fails(workdir: Path, dim: int, model: str) -> BaseException:
    rag = make_rag(workdir, "acme:kb1", dim, model)
    try:
        await rag.initialize_storages()
    except Exception as exc:
        return exc
    finally:
        await rag.finalize_storages()
        await release_shared_pool()
    raise AssertionError("LightRAG started; it was expected to refuse")


def _chain(error: BaseException | None) -> str:
    """The messages of an exception and of the ones it was raised from."""
    texts = []
    while error is not None:
        texts.append(str(error))
        error = error.__cause__ or error.__context__
    return " <- ".join(texts)


def _contract(conn: psycopg.Connection[Any]) -> dict[str, list[str]]:
    """Per table under the contract: its registration triggers and tenant columns."""
    rows = conn.execute(
        "SELECT c.relname, array_agg(t.tgname ORDER BY t.tgname) FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal "
        "AND c.relnamespace = current_schema()::regnamespace GROUP BY 1").fetchall()
    triggers = {str(r[0]): list(r[1]) for r in rows}
    columns = columns_of(conn, tenant_tables(conn))
    return {t: [*triggers.get(t, []), *[c for c in cols if c in ("tenant_id", "kb_id")]]
            for t, cols in columns.items()}


def test_empty_plain_vector_tables_are_never_dropped_by_lightrag(
    lightrag_db: DbFactory, workdir: Path, schema_kit_harness: Harness
) -> None:
    """Migrated without vector_suffix, LightRAG with a model name would drop the plain tables."""
    dim = schema_kit_harness.settings.vector_dim
    db = lightrag_db("head", "")
    with lightrag_env(db.dsn, workdir):
        error = asyncio.run(_start_fails(workdir, dim, MODEL_NAME))
    assert "refusing to drop the tenant contract" in str(error)
    assert "vector_suffix" in str(getattr(error, "hint", "")) or "lightrag" in str(error)
    with db.connect() as conn:
        contract = _contract(conn)
    for table in PLAIN:
        assert contract[table] == [f"Commit_{table}_register", f"trg_{table}_register_insert",
                                   f"trg_{table}_register_update", "tenant_id", "kb_id"], table


def test_plain_vector_tables_with_rows_stay_whole_when_lightrag_cannot_copy_them(
    lightrag_db: DbFactory, workdir: Path, schema_kit_harness: Harness
) -> None:
    """LightRAG's SELECT * copy into a model-named table fails; nothing of the old is lost."""
    dim = schema_kit_harness.settings.vector_dim
    db = lightrag_db("head", "")
    with lightrag_env(db.dsn, workdir):
        asyncio.run(_write(workdir, dim, None, ("acme:kb1",)))
    with db.connect() as conn:
        columns = columns_of(conn, PLAIN)
        before, contract = table_checksums(conn, columns), _contract(conn)
        assert all(n > 0 for n, _ in before.values())
    with lightrag_env(db.dsn, workdir):
        error = asyncio.run(_start_fails(workdir, dim, MODEL_NAME))
    assert type(error).__name__ == "DataMigrationError", error
    assert "tenant_id" in _chain(error), _chain(error)
    with db.connect() as conn:
        assert table_checksums(conn, columns) == before
        after = _contract(conn)
        assert {t: after[t] for t in contract} == contract
        check_invariants(conn, ("acme:kb1",))


def test_a_table_lightrag_creates_later_comes_under_the_contract(
    lightrag_db: DbFactory, workdir: Path, schema_kit_harness: Harness
) -> None:
    """Another embedding model: LightRAG creates new vector tables; they get the contract."""
    dim = schema_kit_harness.settings.vector_dim
    db = lightrag_db("head", suffix_for(MODEL_NAME, dim))
    other = "Other/Embed-v2"
    with lightrag_env(db.dsn, workdir):
        asyncio.run(_write(workdir, dim, other, WORKSPACES))
    created = {f"lightrag_vdb_{t}_{suffix_for(other, dim)}" for t in ("chunks", "entity",
                                                                      "relation")}
    with db.connect() as conn:
        written = rows_per_table(conn)
        contract = _contract(conn)
        assert created <= set(tenant_tables(conn))
        assert set(written) == set(tenant_tables(conn))
        for table in created:
            assert written[table], table
            assert len(contract[table]) == 5, contract[table]
        check_invariants(conn, WORKSPACES)
