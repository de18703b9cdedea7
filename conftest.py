"""Repository-level pytest wiring: tests run on parallel workers, each with its own server;
the heavy benchmarks run only under --benchmark-only, and then in one process; tests marked
``slow`` or ``e2e`` run only when a ``-m`` expression asks for them (``pytest -m slow``,
``pytest -m e2e``, ``pytest -m "slow or e2e or not (slow or e2e)"`` for everything)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parent / "benchmarks"
# `-n auto` (pyproject addopts) means this many workers. Each one starts a PostgreSQL of
# its own, so past a few the server start-ups eat what the parallelism gains.
MAX_WORKERS = 4
# What a plain `pytest` leaves out (the edit loop's run stays about a minute): the long checks,
# and the end-to-end tests that run whole processes with servers of their own.
DESELECTED = ("slow", "e2e")


def auto_workers(cpus: int | None) -> int:
    return max(1, min(cpus or 1, MAX_WORKERS))


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    return auto_workers(os.cpu_count())


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    # Timings taken while another worker competes for the same cores would be noise, and
    # pytest-benchmark switches itself off under xdist: benchmark runs stay in one process.
    if config.getoption("benchmark_only", default=False):
        config.option.numprocesses = 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # `pytest` must stay fast: the benchmark suites are deselected (not skipped) unless the
    # run asked for benchmarks explicitly.
    if config.getoption("benchmark_only", default=False):
        return
    # Without -m, `slow` and `e2e` tests are deselected; any -m expression decides for itself.
    plain = not config.getoption("markexpr", default="")
    keep, drop = [], []
    for item in items:
        held = plain and any(item.get_closest_marker(m) is not None for m in DESELECTED)
        (drop if held or BENCHMARKS in Path(str(item.path)).parents else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
