"""Benchmark fixtures: one loaded database per data size, shared by every benchmark.

The data is built once per run and size (``--schema-kit-bench-rows``, default 10000): a clone
of the head template, registered tenants and kbs, COPY of the 9 tables, VACUUM (ANALYZE).
Read benchmarks query it directly; writes run in savepoints that are rolled back, and a
VACUUM afterwards clears their dead tuples so the next benchmark sees the same data.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from schema_kit.bench.datagen import Dataset, Loaded, load
from schema_kit.bench.queries import prefix_indexes, tenant_indexes
from schema_kit.config import Settings
from schema_kit.connect import connect
from schema_kit.db.harness import Harness

SEED = 20250106


def _bytes(conn: psycopg.Connection[Any], relations: list[str]) -> int:
    row = conn.execute(
        "SELECT coalesce(sum(pg_relation_size(c.oid)), 0)::bigint FROM pg_class c "
        "WHERE c.relname = ANY(%s) AND c.relnamespace = current_schema()::regnamespace",
        (relations,)).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture(scope="session")
def bench_data(schema_kit_harness: Harness, schema_kit_settings: Settings) -> Iterator[Loaded]:
    """The loaded database of this run's size."""
    rows = schema_kit_settings.bench_rows
    templates = schema_kit_harness.templates
    name = templates.scratch.create(f"bench{rows}", template=templates.template("head"))
    dsn = templates.scratch.dsn(name)
    start = time.perf_counter()
    dataset = Dataset(rows, seed=SEED, vector_dim=schema_kit_settings.vector_dim)
    with connect(dsn) as conn:
        timings = load(conn, dataset)
        timings["total"] = time.perf_counter() - start
        defs = tenant_indexes(conn)
        if not defs:
            pytest.fail("the head schema has no tenant indexes: nothing to benchmark")
        # Measured now, before any benchmark's rolled-back writes leave free pages behind.
        sizes = {"index_count": len(defs),
                 "index_bytes": _bytes(conn, [d.name for d in defs]),
                 "prefix_index_bytes": _bytes(conn, [d.name for d in prefix_indexes(defs)]),
                 "table_bytes": _bytes(conn, sorted({d.table for d in defs}))}
        conn.rollback()
    print(f"\nschema_kit: loaded {rows} rows ({len(dataset.tenants)} tenants, "
          f"{len(dataset.workspaces)} kbs) in {timings['total']:.1f} s")
    try:
        yield Loaded(dsn, dataset, timings, sizes)
    finally:
        templates.scratch.drop(name)


@pytest.fixture(scope="session")
def bench_conn(bench_data: Loaded) -> Iterator[psycopg.Connection[Any]]:
    """A connection to the loaded database, shared by the benchmarks."""
    # No automatic prepared statements: every execution is planned for its own parameters,
    # so the plan that EXPLAIN records is the plan that was timed.
    with connect(bench_data.dsn, prepare_threshold=None) as conn:
        yield conn


@pytest.fixture
def vacuum_after(bench_data: Loaded, bench_conn: psycopg.Connection[Any]) -> Iterator[None]:
    """Clear the dead tuples a rolled-back write left, so later benchmarks see clean tables."""
    yield
    if bench_conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        bench_conn.rollback()
    with connect(bench_data.dsn, autocommit=True) as admin:
        admin.execute("VACUUM")
