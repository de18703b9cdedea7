"""What the tenant indexes buy: each query with and without them, side by side.

A group is one query for one tenant at one data size; its members differ only in which
tenant indexes exist: all 18 ('with'), none ('without'), or only the 9 (tenant_id, kb_id)
ones ('composite_only': the single-column (tenant_id) indexes are a prefix of those, so this
arm shows whether they earn their write cost). Indexes are dropped in the arm's transaction,
which is rolled back after. Each member records the plan it ran (EXPLAIN ANALYZE, BUFFERS,
JSON) and the indexes that plan read, so a surprising number can be checked against what the
server did.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from schema_kit.bench.datagen import Loaded
from schema_kit.bench.queries import CATALOGUE, Query, explain, plan_indexes, run, schema_variant
from schema_kit.bench.report import bench_info

# Writes repeat on a fixed number of rounds (each round is rolled back): timing them by the
# calibrated loop would pile up dead tuples in proportion to how fast they are.
WRITE_ROUNDS = 20


# variant -> (keep the tenant indexes, keep the ones that are a prefix of another)
VARIANTS = {"with": (True, True), "composite_only": (True, False), "without": (False, False)}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("tenant", ["small", "large"])
@pytest.mark.parametrize("query", CATALOGUE, ids=lambda q: q.name)
def test_query(
    benchmark: Any, bench_data: Loaded, bench_conn: psycopg.Connection[Any], query: Query,
    tenant: str, variant: str, request: pytest.FixtureRequest,
) -> None:
    ds, conn = bench_data.dataset, bench_conn
    pick = ds.pick(tenant)
    steps = query.build(ds, pick)
    if query.mutates:
        request.getfixturevalue("vacuum_after")
    benchmark.group = f"{query.name} [{tenant} tenant, {query.scope}] @ {ds.rows} rows"
    benchmark.extra_info.update(bench_info(
        kind="query", case=query.name, variant=variant, rows=ds.rows, tenant=tenant,
        scope=query.scope))
    benchmark.extra_info.update(
        table=query.table, tenant_id=pick.tenant, kb_id=pick.kb, tenant_rows=pick.tenant_rows,
        kb_rows=pick.kb_rows, server_version=conn.info.server_version)
    indexes, prefixes = VARIANTS[variant]
    with schema_variant(conn, indexes=indexes, prefixes=prefixes):
        if query.mutates:
            seen = benchmark.pedantic(run, args=(conn, steps, True), rounds=WRITE_ROUNDS,
                                      warmup_rounds=1)
        else:
            seen = benchmark(run, conn, steps)
        plans = explain(conn, steps)
    benchmark.extra_info.update(rows_returned=seen, plan=plans,
                                indexes_used=sorted(plan_indexes(plans)))
    assert seen > 0, f"{query.name} touched no rows for {pick.workspace}: the data is wrong"
