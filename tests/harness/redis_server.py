"""A private Redis server for a test: Debian's ``redis-server`` on a free port, in a temp
dir, nothing persisted, stopped and removed afterwards."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REDIS_SERVER = "redis-server"
INSTALL = "Debian: apt-get install -y redis-server (.ci/run installs it)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis_server(binary: str) -> Iterator[str]:
    """Start ``binary`` on a free port of 127.0.0.1; yields ``redis://127.0.0.1:PORT/0``.

    A port taken between choosing and binding it (another test's server) makes the server
    exit at once: then another port is tried."""
    workdir = Path(tempfile.mkdtemp(prefix="skt-redis-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        for _attempt in range(5):
            port = _free_port()
            proc = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir),
                 "--save", "", "--appendonly", "no", "--daemonize", "no"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 20
            while proc.poll() is None and time.monotonic() < deadline and not _answers(port):
                time.sleep(0.02)
            if proc.poll() is None and _answers(port):
                break
            proc.kill()
            proc.wait(timeout=10)
        else:
            raise RuntimeError(f"{binary} did not start on any of 5 free ports")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def redis_binary() -> str | None:
    return shutil.which(REDIS_SERVER)
