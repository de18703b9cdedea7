"""A pytest run that uses the plugin leaves no server, container or temp dir, even on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.harness.children import child, child_tmpdir, containers, left_in, servers_under

# End to end: whole runs in processes of their own (see conftest.py).
pytestmark = pytest.mark.e2e


INNER = '''
import time
from pathlib import Path

def test_uses_a_database(schema_kit_conn, schema_kit_server):
    Path({marker!r}).write_text(schema_kit_server.backend)
    assert schema_kit_conn.execute("SELECT count(*) FROM tenants").fetchone() == (0,)

def test_waits_to_be_interrupted(schema_kit_conn, schema_kit_server):
    Path({marker!r}).write_text(schema_kit_server.backend)
    time.sleep(60)
'''


def _run_inner(
    tmp_path: Path, tmpdir: Path, *selection: str, interrupt: bool
) -> tuple[int, str, int]:
    marker = tmp_path / "marker"
    (tmp_path / "test_inner.py").write_text(INNER.format(marker=str(marker)))
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
            f"--rootdir={tmp_path}", "-c", os.devnull, str(tmp_path / "test_inner.py"),
            *selection]
    with child(args, tmpdir, cwd=tmp_path, stdout=subprocess.PIPE,
               stderr=subprocess.STDOUT) as proc:
        if interrupt:
            deadline = time.monotonic() + 120
            while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.1)
            if not marker.exists():
                proc.kill()
                raise AssertionError("the inner test never started:\n" + proc.communicate()[0])
            assert _server_alive(marker.read_text(), tmpdir, proc.pid)
            proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
        return proc.returncode, out, proc.pid


def _server_alive(backend: str, tmpdir: Path, pid: int) -> bool:
    """Whether the leak checks below look where the run's server really is."""
    if backend == "embedded":
        return bool(servers_under(tmpdir))
    if backend == "container":
        return bool(containers(pid))
    return backend == "dsn"


def test_normal_run_leaves_nothing(tmp_path: Path) -> None:
    with child_tmpdir() as tmpdir:
        code, out, pid = _run_inner(tmp_path, tmpdir, "-k", "uses_a_database", interrupt=False)
        assert code == 0, out
        assert (tmp_path / "marker").read_text() in ("embedded", "container", "dsn")
        assert left_in(tmpdir) == []
        assert servers_under(tmpdir) == []
    assert containers(pid) == []


def test_ctrl_c_in_a_test_leaves_nothing(tmp_path: Path) -> None:
    with child_tmpdir() as tmpdir:
        code, out, pid = _run_inner(tmp_path, tmpdir, "-k", "interrupted", interrupt=True)
        assert code == 2, out  # pytest's exit code for an interrupted session
        assert "KeyboardInterrupt" in out
        assert left_in(tmpdir) == []
        assert servers_under(tmpdir) == []
    assert containers(pid) == []


KILLED = '''
import sys, time
from schema_kit.config import settings_from
from schema_kit.db.harness import Harness

harness = Harness(settings_from())
print(harness.server.backend, flush=True)
time.sleep(120)
'''


def test_sigkill_of_the_harness_leaves_nothing_either() -> None:
    """No finally block runs on SIGKILL: the backend's watchdog removes the server."""
    with child_tmpdir() as tmpdir:
        with child([sys.executable, "-c", KILLED], tmpdir, stdout=subprocess.PIPE) as proc:
            assert proc.stdout is not None
            backend = proc.stdout.readline().strip()
            assert backend in ("embedded", "container", "dsn"), backend
            assert _server_alive(backend, tmpdir, proc.pid)
            proc.kill()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
            servers_under(tmpdir) or left_in(tmpdir) or containers(proc.pid)
        ):
            time.sleep(0.2)
        assert servers_under(tmpdir) == []
        assert left_in(tmpdir) == []
    assert containers(proc.pid) == []
