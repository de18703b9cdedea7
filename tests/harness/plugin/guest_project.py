"""An unrelated project for the guest tests and the plugin-overhead benchmark: two plain tests
and one Hypothesis test that records the settings it runs with, a timing plugin, and how to
run it as a child pytest, with schema_kit's plugin autoloaded or not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import hypothesis._settings

from tests.harness.children import child_env

__all__ = ["PROJECT", "TIMER", "project", "project_args", "project_env", "timed"]

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


def project(root: Path) -> Path:
    (root / "test_unrelated.py").write_text(PROJECT, encoding="utf-8")
    (root / "guest_timer.py").write_text(TIMER, encoding="utf-8")
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return root


def project_env(root: Path, **extra: str) -> dict[str, str]:
    """A child's environment without Hypothesis' CI markers (a CI variable makes Hypothesis
    load its own ``ci`` profile, whatever any plugin does) and with the project importable
    (for ``-p guest_timer``)."""
    ci_vars = getattr(hypothesis._settings, "_CI_VARS", {"CI": None})
    env = {k: v for k, v in child_env().items() if k not in ci_vars}
    path = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    return {**env, "PYTHONPATH": path, **extra}


def project_args(root: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-c", str(root / "pytest.ini"),
            f"--rootdir={root}", *extra, str(root / "test_unrelated.py")]


def timed(root: Path, times: Path, load: bool) -> dict[str, Any]:
    """One run of the project with -p no:schema_kit and the timer, which loads the plugin
    itself where ``load``; what the timer measured."""
    times.unlink(missing_ok=True)
    env = project_env(root, GUEST_TIMES=str(times), GUEST_LOAD="1" if load else "0")
    result = subprocess.run(
        project_args(root, "-q", "-p", "no:cacheprovider", "-p", "no:schema_kit",
                     "-p", "guest_timer"),
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "schema_kit" not in result.stdout, result.stdout
    measured: dict[str, Any] = json.loads(times.read_text())
    return measured
