"""Proof with real parts: two ``schema-kit verify`` processes, each with its own PostgreSQL
and its own directory (two machines), share one Redis as their example database; the failure
the first one searched for is the second one's first example.

Marker ``slow`` (two verify processes, about 20 s): ``.ci/run`` runs it (``pytest -m slow``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from schema_kit.workload.examples import REDIS_PREFIX
from tests.harness.checks.corpus import CORPUS
from tests.harness.children import child_env, child_tmpdir, left_in, servers_under

# A mutant that only some batches show (a kb with a ':' in it), so the first search takes a
# few examples; isolation's property is what must catch it.
MUTANT, CHECK = "kb_cut_at_the_second_colon", "isolation"


def _verify(machine: Path, sql_dir: Path, redis_url: str) -> dict[str, Any]:
    """One machine's run: its own cwd (so its own local example dir), TMPDIR and server."""
    machine.mkdir()
    args = [sys.executable, "-m", "schema_kit.cli", "verify", "--backend", "embedded",
            "--sql-dir", str(sql_dir), "--check", CHECK, "--profile", "ci", "--no-shrink",
            "--example-db", redis_url, "--report", str(machine / "report")]
    with child_tmpdir() as tmpdir:
        result = subprocess.run(args, cwd=machine, env=child_env(TMPDIR=str(tmpdir)),
                                capture_output=True, text=True, timeout=600)
        assert left_in(tmpdir) == [] and servers_under(tmpdir) == []
    assert result.returncode == 1, result.stderr[-3000:]  # the mutant fails verify
    report: dict[str, Any] = json.loads((machine / "report" / "report.json").read_text())
    return {c["name"]: c for c in report["checks"]}


@pytest.mark.slow
def test_a_failure_found_on_one_machine_is_the_first_example_on_another(
    redis_url: str, tmp_path: Path, record_property: Any
) -> None:
    import redis

    sql_dir = next(m for m in CORPUS if m.name == MUTANT).build(tmp_path / "sql")
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.keys(REDIS_PREFIX + b"*") == []  # nothing to replay yet
        first = _verify(tmp_path / "machine1", sql_dir, redis_url)
        found = first[f"{CHECK} (property)"]
        assert not found["holds"] and found["first_failure"] >= 1, found
        assert client.keys(REDIS_PREFIX + b"*"), "the first run saved nothing to Redis"
        second_dir = tmp_path / "machine2"
        second = _verify(second_dir, sql_dir, redis_url)
    finally:
        client.close()
    replayed = second[f"{CHECK} (property)"]
    assert not replayed["holds"]
    assert replayed["first_failure"] == 1, replayed  # Redis' example, replayed first
    assert replayed["examples"] == 0  # no passing example ran before it
    assert not second["stateful workload (property)"]["holds"]
    figures = (f"examples until failure: first machine {found['first_failure']}, second "
               f"machine {replayed['first_failure']} ({found['elapsed_s']:.2f} s vs "
               f"{replayed['elapsed_s']:.2f} s for the property; stateful workload "
               f"{first['stateful workload (property)']['elapsed_s']:.2f} s vs "
               f"{second['stateful workload (property)']['elapsed_s']:.2f} s)")
    record_property("examples_until_failure", figures)
    print(figures)
