"""The repository's pytest wiring (conftest.py): `pytest` runs on parallel workers,
`pytest --benchmark-only` in one process, so pytest-benchmark times undisturbed runs."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.children import child_env

ROOT = Path(__file__).resolve().parents[3]


def _run(*args: str) -> str:
    # `-k` matching nothing: the run shows how it is set up and stops before any test.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-k", "no_such_test", *args],
        cwd=ROOT, env=child_env(SCHEMA_KIT_BACKEND="embedded"), capture_output=True,
        text=True, timeout=120,
    )
    assert result.returncode == 5, result.stdout[-2000:]  # 5: no tests ran
    return result.stdout


@pytest.mark.e2e
def test_benchmark_only_runs_in_one_process() -> None:
    out = _run("--benchmark-only")
    assert "workers [" not in out and "created:" not in out
    assert "benchmark:" in out  # pytest-benchmark's header: its plugin is active
    # No test ran, so no server started: schema_kit says nothing (tests/harness/plugin/
    # test_guest.py checks that it starts nothing either).
    assert "schema_kit:" not in out


@pytest.mark.parametrize(("cpus", "workers"), [(None, 1), (1, 1), (2, 2), (64, 4)])
def test_auto_means_the_cpus_up_to_four(cpus: int | None, workers: int) -> None:
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    assert spec is not None and spec.loader is not None
    root_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(root_conftest)
    assert root_conftest.auto_workers(cpus) == workers
