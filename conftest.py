"""Repository-level pytest wiring: the heavy benchmarks run only under --benchmark-only."""

from __future__ import annotations

from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parent / "benchmarks"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # `pytest` must stay fast: the benchmark suites are deselected (not skipped) unless the
    # run asked for benchmarks explicitly.
    if config.getoption("benchmark_only", default=False):
        return
    keep, drop = [], []
    for item in items:
        (drop if BENCHMARKS in Path(str(item.path)).parents else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
