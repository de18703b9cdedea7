"""A watchdog process that removes a server if the harness dies without cleaning up.

Ctrl-C, SIGTERM and exceptions unwind through the backends' ``finally`` blocks; a SIGKILL or an
interpreter crash does not. For those, each backend starts this small detached process, which
waits for the harness's pid to disappear and then stops the server and removes its files. On a
normal exit the backend cleans up itself and ends the watchdog first. A server kept for reuse
(``provision.reuse``) gets no watchdog: outliving its run is its purpose.

    python -m schema_kit.provision.watchdog PARENT_PID --kill PID --rmtree DIR
    python -m schema_kit.provision.watchdog PARENT_PID --docker-rm NAME
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

__all__ = ["spawn", "stop"]

_POLL_S = 0.5


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0): look at its state where /proc exists.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


def spawn(*cleanup: str) -> subprocess.Popen[bytes]:
    """Start a watchdog for the current process; ``cleanup`` are the flags above."""
    return subprocess.Popen(
        [sys.executable, "-m", "schema_kit.provision.watchdog", str(os.getpid()), *cleanup],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # survives the harness's process group being killed
    )


def stop(watchdog: subprocess.Popen[bytes] | None) -> None:
    """End a watchdog whose server the harness has cleaned up itself."""
    if watchdog is not None and watchdog.poll() is None:
        watchdog.terminate()
        watchdog.wait(timeout=10)


def _cleanup(args: argparse.Namespace) -> None:
    if args.kill:
        with contextlib.suppress(ProcessLookupError):
            os.kill(args.kill, signal.SIGQUIT)  # PostgreSQL's immediate shutdown
        deadline = time.monotonic() + 10
        while _alive(args.kill) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(args.kill):
            os.kill(args.kill, signal.SIGKILL)
    if args.rmtree:
        shutil.rmtree(args.rmtree, ignore_errors=True)
    if args.docker_rm:
        import docker

        client = docker.from_env()
        try:
            client.containers.get(args.docker_rm).remove(force=True)
        finally:
            client.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="schema_kit.provision.watchdog")
    parser.add_argument("parent", type=int)
    parser.add_argument("--kill", type=int)
    parser.add_argument("--rmtree")
    parser.add_argument("--docker-rm")
    args = parser.parse_args(argv)
    # Terminated by the harness: its own cleanup ran, nothing to do.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while _alive(args.parent):
        time.sleep(_POLL_S)
    _cleanup(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
