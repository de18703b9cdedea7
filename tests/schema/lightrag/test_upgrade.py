"""The seed's scenario with the real client: LightRAG's rows on 1.0.0, migrated live to head."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import psycopg
import pytest

from schema_kit.db.harness import Harness
from schema_kit.db.migrations import Migrator, discover
from schema_kit.workload.tables import columns_of, table_checksums
from tests.schema.lightrag.client import (
    MODEL_NAME,
    WORKSPACES,
    check_invariants,
    context_of,
    document,
    lightrag_env,
    make_rag,
    markers,
    rows_per_table,
    suffix_for,
)
from tests.schema.lightrag.conftest import DbFactory

pytestmark = [pytest.mark.lightrag, pytest.mark.our_chain]

VECTOR_BASES = ("lightrag_vdb_chunks", "lightrag_vdb_entity", "lightrag_vdb_relation")


def _own(workspace: str, *docs: int) -> set[str]:
    tenant, _, kb = workspace.partition(":")
    return {f"{tenant}-{kb}-doc{n}" for n in docs}


async def _session(workdir: Path, dim: int, model: str | None, insert: tuple[int, ...],
                   delete: str | None = None) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Start LightRAG for every workspace, read, insert, delete; what each query saw."""
    rags: dict[str, Any] = {w: make_rag(workdir, w, dim, model) for w in WORKSPACES}
    for rag in rags.values():
        await rag.initialize_storages()
    try:
        before = {w: markers(await context_of(r, "Who buys widgets?")) for w, r in rags.items()}
        for workspace, rag in rags.items():
            if insert:
                await rag.ainsert([document(workspace, n) for n in insert],
                                  ids=[f"doc-{n}" for n in insert])
        if delete:
            await rags["acme:kb1"].adelete_by_doc_id(delete)
        after = {w: markers(await context_of(r, "Who buys widgets?")) for w, r in rags.items()}
        return before, after
    finally:
        for rag in rags.values():
            await rag.finalize_storages()


def _renamed(table: str, suffix: str) -> str:
    return f"{table}_{suffix}" if suffix and table in VECTOR_BASES else table


def _checksums(conn: psycopg.Connection[Any], columns: dict[str, list[str]],
               suffix: str) -> dict[str, tuple[int, str]]:
    """Checksums of the pre-migration columns, keyed by the pre-migration table names."""
    found = table_checksums(conn, {_renamed(t, suffix): c for t, c in columns.items()})
    return {t: found[_renamed(t, suffix)] for t in columns}


@pytest.mark.parametrize("model", [None, MODEL_NAME], ids=["plain-names", "model-named"])
def test_live_upgrade_from_1_0_0_keeps_lightrag_working_and_every_row(
    model: str | None, lightrag_db: DbFactory, workdir: Path, schema_kit_harness: Harness
) -> None:
    """LightRAG writes on 1.0.0; the harness migrates to head under it; LightRAG goes on.

    ``model-named``: the restarted LightRAG names its vector tables after its embedding
    model, and the migration's vector_suffix renames the old tables to those names.
    """
    dim = schema_kit_harness.settings.vector_dim
    suffix = suffix_for(model, dim) if model else ""
    db = lightrag_db("1.0.0", suffix)
    with lightrag_env(db.dsn, workdir):
        asyncio.run(_session(workdir, dim, None, insert=(1, 2)))

    params = {**schema_kit_harness.params, "vector_suffix": suffix}
    with db.connect() as conn:
        counts_before = rows_per_table(conn)
        columns = columns_of(conn, tuple(counts_before))
        before = table_checksums(conn, columns)
        migrator = Migrator(conn, discover(schema_kit_harness.settings.sql_dir), params)
        migrator.migrate("head")
        assert _checksums(conn, columns, suffix) == before
        counts_after = rows_per_table(conn)
        print(f"\n[{model or 'plain'}] rows before the upgrade: {counts_before}"
              f"\n[{model or 'plain'}] rows after the upgrade:  {counts_after}")
        assert {_renamed(t, suffix): c for t, c in counts_before.items()} == counts_after
        assert sum(sum(c.values()) for c in counts_before.values()) > 0
        check_invariants(conn, WORKSPACES)

    with lightrag_env(db.dsn, workdir):
        old, new = asyncio.run(_session(workdir, dim, model, insert=(3,), delete="doc-1"))
    assert old == {w: _own(w, 1, 2) for w in WORKSPACES}  # reads what 1.0.0 held
    assert new == {"acme:kb1": _own("acme:kb1", 2, 3), "acme:kb2": _own("acme:kb2", 1, 2, 3),
                   "globex:main": _own("globex:main", 1, 2, 3)}

    with db.connect() as conn:
        check_invariants(conn, WORKSPACES)
        columns = {t: [c for c in cols if c not in ("tenant_id", "kb_id")]
                   for t, cols in columns_of(conn, tuple(rows_per_table(conn))).items()}
        at_head = table_checksums(conn, columns)
        plain = {t: cols for t, cols in columns.items()}
        for table in VECTOR_BASES:
            if suffix:
                plain[table] = plain.pop(f"{table}_{suffix}")
        migrator = Migrator(conn, discover(schema_kit_harness.settings.sql_dir), params)
        migrator.migrate("1.0.0")
        assert _checksums(conn, plain, "") == {
            t: at_head[_renamed(t, suffix)] for t in plain}
        migrator.migrate("head")
        assert table_checksums(conn, columns) == at_head
        check_invariants(conn, WORKSPACES)
