"""Migration safety measured on the real chain: what each up migration rewrites, locks, builds."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from typing import Any

import psycopg
import pytest

from schema_kit.checks.safety import MigrationSafety, measure_chain, to_markdown
from schema_kit.db.harness import Harness
from schema_kit.db.migrations import discover
from schema_kit.errors import MigrationError
from schema_kit.workload.tables import DATA_TABLES
from tests.conftest import TINY_CHAIN, SqlDirFactory

# Counts, version names and object names of schema_kit's own chain.
pytestmark = pytest.mark.our_chain

# Few rows are enough: the point is that rewrites and index builds touch data at all.
ROWS = 20


def _databases(harness: Harness) -> set[str]:
    admin: psycopg.Connection[Any] = harness.scratch.admin
    return {r[0] for r in admin.execute("SELECT datname FROM pg_database").fetchall()}


def _monitors() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "schema_kit-locks"]


@pytest.fixture(scope="module")
def measured(schema_kit_harness: Harness) -> tuple[dict[str, MigrationSafety], set[str], set[str]]:
    """The chain measured once, with the server's databases before and after."""
    before = _databases(schema_kit_harness)
    results = measure_chain(schema_kit_harness, rows_per_table=ROWS)
    return {r.version: r for r in results}, before, _databases(schema_kit_harness)


def test_every_up_migration_is_measured_in_order(
    measured: tuple[dict[str, MigrationSafety], set[str], set[str]], schema_kit_harness: Harness
) -> None:
    results, _, _ = measured
    chain = discover(schema_kit_harness.settings.sql_dir)
    assert list(results) == [str(m.version) for m in chain]
    assert [r.description for r in results.values()] == [m.description for m in chain]
    assert all(r.polls >= 2 and r.elapsed_s > 0 for r in results.values())


def test_the_seeds_2_0_0_is_flagged(
    measured: tuple[dict[str, MigrationSafety], set[str], set[str]],
) -> None:
    result = measured[0]["2.0.0"]
    assert {(w.table, w.reason, w.rows) for w in result.rewritten} == {
        (t, "STORED generated column tenant_id, kb_id", ROWS) for t in DATA_TABLES
    }
    exclusive = {k.relation for k in result.locks if k.mode == "ACCESS EXCLUSIVE"}
    assert set(DATA_TABLES) <= exclusive
    assert len(result.indexes) == 18
    assert Counter(i.table for i in result.indexes) == {t: 2 for t in DATA_TABLES}
    assert {i.name for i in result.indexes} == {
        f"idx_{t}_{suffix}" for t in DATA_TABLES for suffix in ("tenant", "tenant_kb")
    }
    assert len(result.flags) == 9 + 9 + 18
    assert any(re.fullmatch(r"ACCESS EXCLUSIVE on lightrag_doc_full for \d+\.\d{3} s", f)
               for f in result.flags)
    assert "rewrote lightrag_doc_full (STORED generated column tenant_id, kb_id; 20 rows)" in (
        result.flags)
    assert ("built idx_lightrag_doc_full_tenant_kb on lightrag_doc_full without CONCURRENTLY "
            "(20 rows)") in result.flags


def test_2_2_0_touches_no_data_table(
    measured: tuple[dict[str, MigrationSafety], set[str], set[str]],
) -> None:
    result = measured[0]["2.2.0"]
    assert result.flags == ()
    assert result.rewritten == () and result.indexes == ()
    assert not {k.relation for k in result.locks} & set(DATA_TABLES)
    # Seen, not missed: its foreign key to tenants locks that table until commit.
    assert ("tenants", "SHARE ROW EXCLUSIVE") in {(k.relation, k.mode) for k in result.locks}
    assert {k.relation for k in result.locks if k.created} >= {"user_tenant_memberships"}


def test_what_creates_or_only_adds_triggers_is_not_flagged(
    measured: tuple[dict[str, MigrationSafety], set[str], set[str]],
) -> None:
    results = measured[0]
    # 1.0.0 takes ACCESS EXCLUSIVE on every table it creates, which no one else can see yet.
    assert results["1.0.0"].flags == ()
    assert set(DATA_TABLES) <= {k.relation for k in results["1.0.0"].locks if k.created}
    # CREATE TRIGGER blocks writers (SHARE ROW EXCLUSIVE), not readers; nothing is rewritten.
    trigger = results["2.1.0"]
    assert trigger.flags == () and trigger.rewritten == ()
    assert {(k.relation, k.mode) for k in trigger.locks} >= {
        (t, "SHARE ROW EXCLUSIVE") for t in DATA_TABLES
    }
    assert results["3.0.0"].flags == ()
    assert {w.table for w in results["3.1.0"].rewritten} >= set(DATA_TABLES)


def test_lock_durations_are_positive_numbers(
    measured: tuple[dict[str, MigrationSafety], set[str], set[str]],
) -> None:
    locks = [k for r in measured[0].values() for k in r.locks]
    assert locks
    for lock in locks:
        assert isinstance(lock.held_s, float) and lock.held_s > 0, lock
        assert isinstance(lock.observed_s, float) and lock.observed_s > 0, lock


def test_the_scratch_database_is_gone_and_the_monitor_stopped(
    measured: tuple[dict[str, MigrationSafety], set[str], set[str]],
) -> None:
    _, before, after = measured
    assert after == before
    assert not [name for name in after if "safety" in name]
    assert _monitors() == []


def test_markdown_and_json_reports(
    measured: tuple[dict[str, MigrationSafety], set[str], set[str]],
) -> None:
    results = list(measured[0].values())
    text = to_markdown(results)
    assert text.count("### ") == len(results)
    assert "### 2.0.0: Add generated columns and indexes" in text
    assert re.search(r"\| lightrag_doc_full \| ACCESS EXCLUSIVE \| \d+\.\d{3} \| \d+\.\d{3} \| "
                     r"rewritten \(STORED generated column tenant_id, kb_id; 20 rows\) \|", text)
    assert "- **built idx_lightrag_doc_full_tenant on lightrag_doc_full without CONCURRENTLY" in (
        text)
    payload = json.loads(json.dumps([r.to_dict() for r in results]))
    seed = payload[1]
    assert seed["version"] == "2.0.0" and len(seed["flags"]) == 36
    assert {"relation", "mode", "held_s", "observed_s", "created", "table"} == set(
        seed["locks"][0])
    # An index's lock bears on its table (lint's comparison reads locks per table).
    tables = {k["relation"]: k["table"] for k in seed["locks"]}
    assert tables["lightrag_doc_full"] == "lightrag_doc_full"
    assert tables["idx_lightrag_doc_full_tenant"] == "lightrag_doc_full"


def test_a_failing_migration_still_drops_the_database_and_stops_the_monitor(
    schema_kit_harness: Harness, make_sql_dir: SqlDirFactory
) -> None:
    files = dict(TINY_CHAIN)
    files["1.2.0_broken.up.sql"] = "-- broken\nALTER TABLE things ADD COLUMN x int;\nSELECT 1/0;\n"
    files["1.2.0_broken.down.sql"] = "ALTER TABLE things DROP COLUMN x;\n"
    before = _databases(schema_kit_harness)
    with pytest.raises(MigrationError, match=r"up 1\.2\.0 failed .*\[22012\]") as info:
        measure_chain(schema_kit_harness, 5, migrations=discover(make_sql_dir(files)))
    assert isinstance(info.value.__cause__, psycopg.errors.DivisionByZero)
    assert _databases(schema_kit_harness) == before
    assert _monitors() == []
