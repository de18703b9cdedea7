"""What the tenant indexes and the registration trigger cost: batched writes and index builds.

A batch is written the way LightRAG writes (INSERT … ON CONFLICT (workspace, id) DO UPDATE,
executemany) into a kb that is already registered, with the 18 indexes and the trigger, with
either one removed, with neither, and with only the 9 composite indexes. Each round is rolled
back to a savepoint, so every round inserts into the same data. The index build times CREATE
INDEX of all tenant indexes on the loaded data (in a transaction that drops them first and is
rolled back).
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from schema_kit.bench.datagen import TABLES, Loaded
from schema_kit.bench.queries import (
    Step,
    create_indexes,
    drop_indexes,
    run,
    schema_variant,
    tenant_indexes,
    upsert_statement,
)
from schema_kit.bench.report import bench_info

ROUNDS = 30
# variant -> (keep the tenant indexes, keep those that are a prefix of another, keep the
# trigger); 'composite_only' keeps the 9 (tenant_id, kb_id) indexes and drops the 9 (tenant_id)
# ones, which those can stand in for.
VARIANTS = {"with": (True, True, True), "composite_only": (True, False, True),
            "no_indexes": (False, False, True), "no_trigger": (True, True, False),
            "neither": (False, False, False)}
# batch -> rows per table: one ingested document's worth over all 9 tables, or chunks only,
# where no vector parsing dilutes what the indexes and trigger add.
BATCHES = {"insert_all_tables": {t.name: 100 for t in TABLES},
           "insert_doc_chunks": {"lightrag_doc_chunks": 500}}


@pytest.mark.usefixtures("vacuum_after")
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("tenant", ["small", "large"])
@pytest.mark.parametrize("batch", list(BATCHES))
def test_insert_batch(
    benchmark: Any, bench_data: Loaded, bench_conn: psycopg.Connection[Any], batch: str,
    tenant: str, variant: str,
) -> None:
    ds = bench_data.dataset
    pick = ds.pick(tenant)
    plan = BATCHES[batch]
    steps = [Step(upsert_statement(table), ds.fresh_rows(table, pick.workspace, n), many=True)
             for table, n in plan.items()]
    total = sum(plan.values())
    benchmark.group = f"{batch} ({total} rows) [{tenant} tenant] @ {ds.rows} rows"
    benchmark.extra_info.update(bench_info(
        kind="write", case=batch, variant=variant, rows=ds.rows, tenant=tenant,
        scope=f"{total} rows/batch"))
    benchmark.extra_info.update(tenant_id=pick.tenant, kb_id=pick.kb, batch_rows=total,
                                server_version=bench_conn.info.server_version)
    indexes, prefixes, triggers = VARIANTS[variant]
    with schema_variant(bench_conn, indexes=indexes, prefixes=prefixes, triggers=triggers):
        written = benchmark.pedantic(run, args=(bench_conn, steps, True), rounds=ROUNDS,
                                     warmup_rounds=2)
    assert written == total


def _show(conn: psycopg.Connection[Any], setting: str) -> str:
    row = conn.execute("SELECT current_setting(%s)", (setting,)).fetchone()
    return str(row[0]) if row else ""


@pytest.mark.usefixtures("vacuum_after")
def test_index_build(
    benchmark: Any, bench_data: Loaded, bench_conn: psycopg.Connection[Any]
) -> None:
    ds = bench_data.dataset
    benchmark.group = f"index build @ {ds.rows} rows"
    benchmark.extra_info.update(bench_info(kind="build", case="index_build", variant="build",
                                           rows=ds.rows))
    with schema_variant(bench_conn) as conn:
        defs = tenant_indexes(conn)
        benchmark.extra_info.update(
            load_seconds=bench_data.timings["total"], **bench_data.sizes,
            maintenance_work_mem=_show(conn, "maintenance_work_mem"),
            server_version=conn.info.server_version)
        drop_indexes(conn, defs)

        # Each round builds into a savepoint that the teardown rolls back, so every round
        # starts from the same index-less tables.
        def setup() -> None:
            conn.execute("SAVEPOINT index_build")

        def teardown(*_: object) -> None:
            conn.execute("ROLLBACK TO SAVEPOINT index_build")
            conn.execute("RELEASE SAVEPOINT index_build")

        benchmark.pedantic(create_indexes, args=(conn, defs), setup=setup, teardown=teardown,
                           rounds=3, warmup_rounds=1)
    assert len(defs) >= 18
