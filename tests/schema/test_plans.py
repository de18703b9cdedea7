"""At head the planner serves the tenant-filtered queries with the tenant indexes.

Small data is enough with sequential scans discouraged: what is proven is that the query
shape matches an index the planner can and does pick, read from the JSON plan's index names.
The negative control shows the check can fail: without the indexes no tenant index appears.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from schema_kit.bench.datagen import Dataset
from schema_kit.bench.queries import (
    CATALOGUE,
    Query,
    create_indexes,
    drop_indexes,
    explain,
    plan_indexes,
    prefix_indexes,
    schema_variant,
    tenant_indexes,
)
from schema_kit.db.harness import Harness
from schema_kit.workload.tables import DATA_TABLES
from tests.harness.bench.conftest import loaded_database

# Counts, version names and object names of schema_kit's own chain.
pytestmark = pytest.mark.our_chain

TENANT_FILTERED = [q for q in CATALOGUE if q.scope.startswith("tenant")]
Loaded = tuple[Dataset, psycopg.Connection[Any]]


@pytest.fixture(scope="module")
def loaded(schema_kit_harness: Harness) -> Iterator[Loaded]:
    dataset = Dataset(3000, seed=11, tenants=60, vector_dim=schema_kit_harness.settings.vector_dim)
    with loaded_database(schema_kit_harness, dataset, "plans") as loaded:
        yield loaded


def _plans(conn: psycopg.Connection[Any], ds: Dataset, query: Query) -> list[dict[str, Any]]:
    conn.execute("SET LOCAL enable_seqscan = off")
    return explain(conn, query.build(ds, ds.pick("small")))


def _tables(plan: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    stack = [plan]
    while stack:
        node = stack.pop()
        if "Relation Name" in node:
            found.add(str(node["Relation Name"]))
        stack.extend(node.get("Plans", []))
        if "Plan" in node:
            stack.append(node["Plan"])
    return found & set(DATA_TABLES)


def test_head_has_two_tenant_indexes_per_data_table(loaded: Loaded) -> None:
    _, conn = loaded
    with schema_variant(conn):
        defs = tenant_indexes(conn)
    per_table = {t: sum(1 for d in defs if d.table == t) for t in DATA_TABLES}
    assert len(defs) == 18
    assert set(per_table.values()) == {2}, per_table
    # Of each pair, (tenant_id) leads (tenant_id, kb_id): the benchmarks' composite_only arm.
    assert {d.columns for d in prefix_indexes(defs)} == {("tenant_id",)}
    assert len(prefix_indexes(defs)) == 9


@pytest.mark.parametrize("query", TENANT_FILTERED, ids=lambda q: q.name)
def test_tenant_filtered_query_reads_a_tenant_index(loaded: Loaded, query: Query) -> None:
    ds, conn = loaded
    with schema_variant(conn):
        expected = {d.name: d.table for d in tenant_indexes(conn)}
        plans = _plans(conn, ds, query)
    for plan in plans:
        (table,) = _tables(plan)
        used = {name for name in plan_indexes(plan) if expected.get(name) == table}
        assert used, f"{query.name} on {table} read {sorted(plan_indexes(plan))}, no tenant index"


@pytest.mark.parametrize("query", TENANT_FILTERED, ids=lambda q: q.name)
def test_without_the_indexes_no_tenant_index_is_read(loaded: Loaded, query: Query) -> None:
    ds, conn = loaded
    with schema_variant(conn):
        names = {d.name for d in tenant_indexes(conn)}
    with schema_variant(conn, indexes=False):
        plans = _plans(conn, ds, query)
    assert not any(plan_indexes(p) & names for p in plans)


def test_lightrag_native_workspace_query_uses_the_primary_key(loaded: Loaded) -> None:
    ds, conn = loaded
    (query,) = [q for q in CATALOGUE if q.scope.startswith("workspace")]
    row = conn.execute("SELECT conindid::regclass::text FROM pg_constraint "
                       "WHERE contype = 'p' AND conrelid = %s::regclass", (query.table,)).fetchone()
    conn.rollback()
    assert row is not None
    for indexes in (True, False):
        with schema_variant(conn, indexes=indexes):
            (plan,) = _plans(conn, ds, query)
        assert plan_indexes(plan) == {row[0]}


def test_drop_and_restore_leave_the_index_definitions_as_they_were(loaded: Loaded) -> None:
    _, conn = loaded
    with schema_variant(conn):
        before = tenant_indexes(conn)
        drop_indexes(conn, before)
        assert tenant_indexes(conn) == []
        create_indexes(conn, before)
        assert tenant_indexes(conn) == before
    with schema_variant(conn):
        assert tenant_indexes(conn) == before
