"""The upgrade under load on our chain: 3.0.0 loaded, upgraded while writers and readers run.

Only structural facts are asserted (who was blocked by the migrator, what was lost, what
failed), never a duration: the figures themselves are the benchmark's.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from schema_kit.checks import REGISTRY
from schema_kit.checks.upgrade_load import run_upgrade_under_load, to_markdown
from schema_kit.config import default_sql_dir
from schema_kit.db.databases import Templates
from schema_kit.db.harness import Harness
from schema_kit.workload.tables import DATA_TABLES
from schema_kit.workload.upgrade_load import UpgradeUnderLoad, loaded_template
from tests.conftest import SqlDirFactory

# Version names and what each of our migrations locks.
pytestmark = pytest.mark.our_chain

ROWS = 2000
WRITERS = ("writer 0", "writer 1", "writer 2")
READERS = ("reader 0", "reader 1")


def _databases(harness: Harness) -> set[str]:
    admin: psycopg.Connection[Any] = harness.scratch.admin
    return {r[0] for r in admin.execute("SELECT datname FROM pg_database").fetchall()}


def _ours() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("schema_kit-")]


@pytest.fixture(scope="module")
def upgraded(schema_kit_harness: Harness) -> tuple[UpgradeUnderLoad, set[str], set[str]]:
    """3.0.0 → 3.2.0 under load, once, with the server's databases before and after.

    3.2.0, not head: what is asserted here is about 3.1.0's and 3.2.0's locks; head's 3.3.0
    under load has a test of its own.
    """
    schema_kit_harness.templates.template("3.0.0")  # built before the count, as a template
    before = _databases(schema_kit_harness)
    result = run_upgrade_under_load(schema_kit_harness.templates, REGISTRY.over_writes(), ROWS,
                                    schema_kit_harness.settings.vector_dim, target="3.2.0")
    return result, before, _databases(schema_kit_harness)


def test_every_migration_ran_while_every_worker_ran(
    upgraded: tuple[UpgradeUnderLoad, set[str], set[str]],
) -> None:
    result = upgraded[0]
    assert [m.version for m in result.migrations] == ["3.1.0", "3.2.0"]
    assert result.reached == "3.2.0" and all(m.applied for m in result.migrations)
    for m in result.migrations:
        assert m.writes.count > 0 and m.reads.count > 0, m.version
        assert m.samples > 0 and m.attempts == 1 and m.errors == ()
    assert result.before.count > 0 and result.after.count > 0


def test_3_1_0_blocks_every_writer_and_reader_and_3_2_0_no_reader(
    upgraded: tuple[UpgradeUnderLoad, set[str], set[str]],
) -> None:
    by_version = {m.version: m for m in upgraded[0].migrations}
    # ACCESS EXCLUSIVE on all 9 data tables, held through their rewrite: every statement of
    # every worker waits for it, readers too.
    assert set(by_version["3.1.0"].blocked) == {*WRITERS, *READERS}
    # ... each on a data table: writers to write it, readers to read it.
    waits = {tuple(k.split(" on ")) for k in by_version["3.1.0"].waited_on}
    assert {mode for mode, _ in waits} == {"RowExclusiveLock", "AccessShareLock"}
    assert {table for _, table in waits} <= set(DATA_TABLES)
    # 3.2.0 takes no lock a tenant-filtered SELECT conflicts with.
    assert not set(by_version["3.2.0"].blocked) & set(READERS)


def test_no_row_lost_no_write_failed_and_every_data_check_holds_after(
    upgraded: tuple[UpgradeUnderLoad, set[str], set[str]],
) -> None:
    result = upgraded[0]
    assert result.lost == ()
    assert result.failed == {}
    assert result.invariants == ()
    assert result.writer_rows > 0  # the writers' rows were compared too, not only the load's


def test_nothing_is_left_behind(upgraded: tuple[UpgradeUnderLoad, set[str], set[str]]) -> None:
    _, before, after = upgraded
    assert after == before
    assert _ours() == []


def test_the_markdown_section_names_each_migration_and_the_blocked(
    upgraded: tuple[UpgradeUnderLoad, set[str], set[str]],
) -> None:
    text = to_markdown(upgraded[0])
    assert f"{ROWS} rows loaded at 3.0.0, upgraded to 3.2.0" in text
    row = next(line for line in text.splitlines() if line.startswith("| 3.1.0 "))
    assert "| none | " + ", ".join(sorted({*WRITERS, *READERS})) + " (waiting for " in row
    assert "every pre-loaded row's checksum and every committed row as before" in text
    assert "every data check holds." in text


def test_the_json_form_reads_back_as_it_was(
    upgraded: tuple[UpgradeUnderLoad, set[str], set[str]],
) -> None:
    """report-merge rebuilds the measurement from a shard's report.json."""
    result = upgraded[0]
    assert UpgradeUnderLoad.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def _chain_with(make_sql_dir: SqlDirFactory, name: str, old: str, new: str) -> Path:
    """Our chain, with ``old`` replaced by ``new`` (once) in migrations/``name``."""
    sql_dir = make_sql_dir({})
    for path in (default_sql_dir() / "migrations").iterdir():
        text = path.read_text("utf-8")
        if path.name == name:
            assert old in text, f"{name} no longer has {old!r}"
            text = text.replace(old, new, 1)
        (sql_dir / "migrations" / path.name).write_text(text, "utf-8")
    return sql_dir


def test_a_migration_that_fails_stops_the_upgrade_and_is_reported(
    schema_kit_harness: Harness, make_sql_dir: SqlDirFactory,
) -> None:
    """A refusal that is not transient is not retried; nothing later runs; nothing is lost."""
    sql_dir = _chain_with(make_sql_dir, "3.1.0_tenant_contract.up.sql", "DO $precheck$",
                          "SELECT 1 / 0;\n\nDO $precheck$")
    templates = Templates(schema_kit_harness.scratch, sql_dir, schema_kit_harness.params)
    result = run_upgrade_under_load(templates, REGISTRY.over_writes(), 300,
                                    schema_kit_harness.settings.vector_dim, warmup=5)
    (failed,) = result.migrations
    assert (failed.version, failed.applied, failed.attempts) == ("3.1.0", False, 1)
    assert failed.errors[0].startswith("[22012] up 3.1.0 failed")
    assert result.reached == "3.0.0" and result.lost == () and result.failed == {}


# 3.3.0 creates its registry triggers (locking tenants, knowledge_bases) and then a
# constraint trigger per data table; a writer holds its data table and then wants the
# registry. Taken one table at a time they deadlocked under load (40P01: the migration or a
# writer the victim, measured at 10k, 100k and 1M rows); 3.3.0 now locks every table under
# the contract first, in one order.
def test_3_3_0_applies_under_load_at_the_first_attempt_and_fails_no_write(
    schema_kit_harness: Harness,
) -> None:
    result = run_upgrade_under_load(schema_kit_harness.templates, REGISTRY.over_writes(), 1000,
                                    schema_kit_harness.settings.vector_dim, warmup=10)
    assert [(m.version, m.applied, m.attempts) for m in result.migrations] == [
        ("3.1.0", True, 1), ("3.2.0", True, 1), ("3.3.0", True, 1)]
    assert result.failed == {} and result.lost == () and result.invariants == ()


def test_a_loaded_template_is_upgraded_by_clones_and_dropped_by_its_caller(
    schema_kit_harness: Harness,
) -> None:
    """The benchmark's path: load once, measure clones (each starts from the same rows)."""
    templates = schema_kit_harness.templates
    loaded = loaded_template(templates, 300, vector_dim=schema_kit_harness.settings.vector_dim)
    try:
        runs = [run_upgrade_under_load(templates, REGISTRY.over_writes(), 300,
                                       schema_kit_harness.settings.vector_dim, target="3.1.0",
                                       warmup=5, loaded=loaded) for _ in range(2)]
    finally:
        templates.scratch.drop(loaded)
    assert [r.reached for r in runs] == ["3.1.0", "3.1.0"]
    assert all(r.lost == () and r.invariants == () and r.writer_rows > 0 for r in runs)
    assert loaded not in _databases(schema_kit_harness)
