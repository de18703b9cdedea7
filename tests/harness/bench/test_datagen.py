"""The benchmark data: skewed over tenants, exactly N rows over the 9 tables, reproducible."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from schema_kit.bench.datagen import TABLES, Dataset
from schema_kit.db.harness import Harness
from schema_kit.workload.tables import DATA_TABLES, VECTOR_TABLES
from tests.harness.bench.conftest import loaded_database

ROWS = 4000
TENANTS = 100

_UNION = sql.SQL(" UNION ALL ").join(
    sql.SQL("SELECT tenant_id, kb_id, workspace FROM {}").format(sql.Identifier(t))
    for t in DATA_TABLES)


@pytest.fixture(scope="module")
def loaded(schema_kit_harness: Harness) -> Iterator[tuple[Dataset, psycopg.Connection[Any]]]:
    dataset = Dataset(ROWS, seed=7, tenants=TENANTS,
                      vector_dim=schema_kit_harness.settings.vector_dim)
    with loaded_database(schema_kit_harness, dataset, "datagen") as loaded:
        yield loaded


def test_copy_loads_exactly_n_rows_over_all_nine_tables(
    loaded: tuple[Dataset, psycopg.Connection[Any]],
) -> None:
    dataset, conn = loaded
    counts = {}
    for table in DATA_TABLES:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
                           ).fetchone()
        assert row is not None
        counts[table] = int(row[0])
    assert sum(counts.values()) == ROWS
    assert counts == dataset.table_rows
    assert all(counts[t.name] > 0 for t in TABLES)
    # Every (tenant, kb) holds exactly what the plan gave it, read via the generated columns.
    per_kb = conn.execute(
        sql.SQL("SELECT tenant_id, kb_id, count(*) FROM ({}) u GROUP BY 1, 2").format(_UNION)
    ).fetchall()
    assert {(t, k): int(n) for t, k, n in per_kb} == dict(dataset.kb_rows())


def test_rows_are_skewed_few_tenants_hold_most(
    loaded: tuple[Dataset, psycopg.Connection[Any]],
) -> None:
    _, conn = loaded
    shares = [int(n) / ROWS for (n,) in conn.execute(
        sql.SQL("SELECT count(*) FROM ({}) u GROUP BY tenant_id ORDER BY 1 DESC").format(_UNION)
    ).fetchall()]
    assert shares[0] >= 0.2, f"top tenant holds only {shares[0]:.0%}"
    assert sum(shares[:10]) >= 0.6, f"top 10 tenants hold only {sum(shares[:10]):.0%}"
    # The long tail: most tenants are tiny (<= 0.5 % of the rows each, or empty).
    tiny = TENANTS - sum(1 for s in shares if s > 0.005)
    assert tiny >= TENANTS // 2, f"only {tiny} of {TENANTS} tenants are small"


def test_tenants_and_kbs_are_registered_and_workspaces_well_formed(
    loaded: tuple[Dataset, psycopg.Connection[Any]],
) -> None:
    dataset, conn = loaded
    tenants = {t for (t,) in conn.execute("SELECT tenant_id FROM tenants").fetchall()}
    kbs = set(conn.execute("SELECT tenant_id, kb_id FROM knowledge_bases").fetchall())
    assert tenants == set(dataset.tenants)
    assert kbs == set(dataset.workspaces)
    bad = conn.execute(sql.SQL(
        "SELECT workspace FROM ({}) u WHERE workspace <> tenant_id || ':' || kb_id "
        "OR tenant_id = '' OR kb_id = '' OR kb_id LIKE '%:%' LIMIT 5").format(_UNION)).fetchall()
    assert bad == []


def test_vectors_have_the_configured_dimension(
    loaded: tuple[Dataset, psycopg.Connection[Any]],
) -> None:
    dataset, conn = loaded
    for table in VECTOR_TABLES:
        dims = conn.execute(sql.SQL(
            "SELECT DISTINCT vector_dims(content_vector) FROM {}").format(sql.Identifier(table))
        ).fetchall()
        assert dims == [(dataset.vector_dim,)], table


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    def rows(seed: int) -> dict[str, list[tuple[object, ...]]]:
        ds = Dataset(600, seed=seed, vector_dim=4)
        return {t.name: list(ds.rows_of(t.name)) for t in TABLES}

    assert rows(1) == rows(1)
    assert rows(1) != rows(2)


def test_fresh_rows_never_collide_with_loaded_ones() -> None:
    ds = Dataset(600, seed=3, vector_dim=4)
    pick = ds.pick("large")
    loaded_ids = {r[0] for r in ds.rows_of("lightrag_doc_chunks")}
    fresh = ds.fresh_rows("lightrag_doc_chunks", pick.workspace, 50)
    assert not loaded_ids & {r[0] for r in fresh}
    assert set(ds.ids("lightrag_doc_chunks", pick.workspace, 10)) <= loaded_ids


def test_picks_a_top_tenant_and_a_small_one() -> None:
    ds = Dataset(20_000, seed=5, vector_dim=4)
    large, small = ds.pick("large"), ds.pick("small")
    per_tenant = ds.tenant_rows()
    assert large.tenant == per_tenant.most_common(1)[0][0]
    assert 30 <= small.tenant_rows <= 120
    assert small.tenant_rows < large.tenant_rows / 50
    # The small tenant's kb has rows in every table the catalogue reads by kb.
    for table in ("lightrag_doc_chunks", "lightrag_vdb_entity", "lightrag_vdb_relation"):
        assert ds.ids(table, small.workspace, 1), table
