"""A fresh install at head, written by LightRAG's own storages for several tenants at once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from schema_kit.config import Settings
from schema_kit.workload.tables import tenant_tables
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


def _own(workspace: str, *docs: int) -> set[str]:
    tenant, _, kb = workspace.partition(":")
    return {f"{tenant}-{kb}-doc{n}" for n in docs}


async def _start(workdir: Path, dim: int) -> dict[str, Any]:
    rags = {w: make_rag(workdir, w, dim, MODEL_NAME) for w in WORKSPACES}
    for rag in rags.values():
        await rag.initialize_storages()
    return rags


async def _stop(rags: dict[str, Any]) -> None:
    for rag in rags.values():
        await rag.finalize_storages()


async def _first_run(workdir: Path, dim: int) -> dict[str, set[str]]:
    rags = await _start(workdir, dim)
    try:
        for workspace, rag in rags.items():
            # The same document ids in every workspace: only the workspace tells them apart.
            await rag.ainsert([document(workspace, 1), document(workspace, 2)],
                              ids=["doc-1", "doc-2"], file_paths=["one.txt", "two.txt"])
        seen = {w: markers(await context_of(rag, "Who buys widgets?")) for w, rag in rags.items()}
        await rags["acme:kb1"].adelete_by_doc_id("doc-1")
        return seen
    finally:
        await _stop(rags)


async def _after_restart(workdir: Path, dim: int) -> dict[str, set[str]]:
    rags = await _start(workdir, dim)
    try:
        return {w: markers(await context_of(rag, "Who buys widgets?")) for w, rag in rags.items()}
    finally:
        await _stop(rags)


def test_lightrag_writes_three_workspaces_at_head_and_every_invariant_holds(
    lightrag_db: DbFactory, workdir: Path, schema_kit_settings: Settings
) -> None:
    dim = schema_kit_settings.vector_dim
    suffix = suffix_for(MODEL_NAME, dim)
    db = lightrag_db("head", suffix)
    with lightrag_env(db.dsn, workdir):
        first = asyncio.run(_first_run(workdir, dim))
        again = asyncio.run(_after_restart(workdir, dim))

    # Each workspace's naive query sees its own chunks and nothing else.
    assert first == {w: _own(w, 1, 2) for w in WORKSPACES}
    assert again == {"acme:kb1": _own("acme:kb1", 2), "acme:kb2": _own("acme:kb2", 1, 2),
                     "globex:main": _own("globex:main", 1, 2)}

    with db.connect() as conn:
        written = rows_per_table(conn)
        tables = tenant_tables(conn)
        print("\nrows LightRAG wrote per table (workspace: rows):")
        for table, counts in written.items():
            print(f"  {table}: {counts}")
        # Every table LightRAG wrote is under the contract, vector tables by their model name.
        assert set(written) == set(tables)
        assert len(tables) == 11
        assert {f"lightrag_vdb_{t}_{suffix}" for t in ("chunks", "entity", "relation")} <= set(
            tables)
        assert all(set(counts) == set(WORKSPACES) for counts in written.values()), written
        check_invariants(conn, WORKSPACES)
