"""The upgrade 3.0.0 → head under load, at the bench size (``--schema-kit-bench-rows``).

One round (a round at 1M rows takes minutes); the rows are loaded once, into a template each
member clones. The time is the whole run (clone, checksums, upgrade, checks after); the
figures that matter are per migration in ``extra_info``: the longest wait of any writer or
reader, the statements that failed, the write latency during it, who was seen blocked by the
migrator; with the write latency before and after, and whether every row and data check
survived. Three members: the plain upgrade; the migrator waiting at most 100 ms for each lock
and re-running on a timeout; and the online upgrade (each migration with an online form,
3.1.0's, applied by it) with that lock timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from schema_kit.checks import REGISTRY
from schema_kit.checks.upgrade_load import run_upgrade_under_load, to_markdown
from schema_kit.config import Settings
from schema_kit.db.harness import Harness
from schema_kit.workload.upgrade_load import UpgradeUnderLoad, loaded_template


def _figures(result: UpgradeUnderLoad) -> dict[str, Any]:
    per_migration = {
        m.version: {
            "applied": m.applied, "attempts": m.attempts, "lock_timeouts": m.lock_timeouts,
            "elapsed_s": m.elapsed_s,
            "held_s": m.held_s, "longest_wait_s": m.longest_wait_s,
            "writes": m.writes.count, "write_p50_ms": m.writes.p50_ms,
            "write_p99_ms": m.writes.p99_ms, "write_max_ms": m.writes.max_ms,
            "reads": m.reads.count,
            "read_max_ms": m.reads.max_ms, "failed": m.failed,
            "blocked": sorted(m.blocked), "waited_on": m.waited_on,
            "errors": [e[:300] for e in m.errors],
        }
        for m in result.migrations
    }
    return {
        "rows": result.rows, "reached": result.reached, "target": result.target,
        "lock_timeout_ms": result.lock_timeout_ms, "online": result.online,
        "write_p50_ms_before": result.before.p50_ms, "write_p99_ms_before": result.before.p99_ms,
        "write_p50_ms_after": result.after.p50_ms, "write_p99_ms_after": result.after.p99_ms,
        "failed": result.failed, "writer_rows": result.writer_rows,
        "lost": len(result.lost), "invariants_failing": [n for n, _ in result.invariants],
        "migrations": per_migration,
    }


@pytest.fixture(scope="module")
def loaded(schema_kit_harness: Harness, schema_kit_settings: Settings) -> Iterator[str]:
    """The seed holding the bench size, loaded once: each member upgrades a clone of it."""
    templates = schema_kit_harness.templates
    name = loaded_template(templates, schema_kit_settings.bench_rows,
                           vector_dim=schema_kit_settings.vector_dim)
    yield name
    templates.scratch.drop(name)


@pytest.mark.parametrize(("lock_timeout_ms", "online"), [(None, False), (100, False), (100, True)],
                         ids=["plain", "lock_timeout_100ms", "online_lock_timeout_100ms"])
def test_upgrade_3_0_0_to_head_under_load(
    benchmark: Any, schema_kit_harness: Harness, schema_kit_settings: Settings,
    lock_timeout_ms: int | None, online: bool, loaded: str,
) -> None:
    runs: list[UpgradeUnderLoad] = []

    def upgrade() -> None:
        runs.append(run_upgrade_under_load(schema_kit_harness.templates, REGISTRY.over_writes(),
                                           schema_kit_settings.bench_rows,
                                           schema_kit_settings.vector_dim,
                                           lock_timeout_ms=lock_timeout_ms, online=online,
                                           loaded=loaded))

    benchmark.group = f"upgrade under load ({schema_kit_settings.bench_rows} rows)"
    benchmark.pedantic(upgrade, rounds=1, iterations=1)
    (result,) = runs
    benchmark.extra_info.update(_figures(result))
    print("\n" + to_markdown(result))
    # The measurement ran to the end: every migration was tried, every worker was watched.
    assert result.migrations and all(m.samples > 0 for m in result.migrations)
