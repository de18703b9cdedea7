"""Where reused servers live, and the lock that makes one run at a time their owner.

    <root>/<project>/project.json    names the sql dir the project's servers serve
    <root>/<project>/<slot>/owner.lock   flock'ed by the owning run, its pid written inside
    <root>/<project>/<slot>/data/     the server's data dir (its socket and log inside)

``<root>`` is ``reuse_dir`` (default: ``schema_kit-reuse-<uid>`` on the tmpfs where the
run's ``storage`` is RAM, else ``$XDG_CACHE_HOME/schema_kit/reuse`` or
``~/.cache/schema_kit/reuse``); ``<project>`` a hash of the sql dir, so two checkouts or
chains never share a server; ``<slot>`` the xdist worker id (``gw0`` …) or ``main``: each
worker owns a server of its own, as it does without reuse.

The lock is an ``flock``: the kernel drops it when its holder dies, however it dies (SIGKILL
included), so a slot whose owner died is free again without anyone deciding it is stale.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from schema_kit.errors import ProvisionError

__all__ = [
    "LOCK_FILE", "PROJECT_FILE", "Slot", "SlotBusy", "default_roots", "make", "reuse_root",
    "slot_for", "slots",
]

LOCK_FILE = "owner.lock"
PROJECT_FILE = "project.json"
_SLOT_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")


def reuse_root(
    configured: Path | None, env: Mapping[str, str] | None = None, ram: Path | None = None
) -> Path:
    """``reuse_dir`` if set; else, where the run keeps its servers in RAM (``ram``: the
    tmpfs ``storage`` chose), a directory of this user's there; else the user's cache dir
    (XDG), ``schema_kit/reuse`` under it. A kept server on a disk pays the disk for every
    clone, which cost more than a throw-away server in RAM saves by being kept."""
    if configured is not None:
        return configured
    if ram is not None:
        return _ram_root(ram)
    env = os.environ if env is None else env
    cache = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser().resolve() / "schema_kit" / "reuse"


def _ram_root(base: Path) -> Path:
    root = base.resolve() / f"schema_kit-reuse-{os.geteuid()}"
    # A tmpfs like /dev/shm is everyone's: a directory of that name that is not ours (or a
    # link) is someone else's, and a server of ours never goes into it.
    if root.is_symlink() or (root.exists() and root.stat().st_uid != os.geteuid()):
        raise ProvisionError(
            f"{root} exists and is not this user's directory; remove it, or set reuse_dir "
            "(SCHEMA_KIT_REUSE_DIR) to a directory of your own"
        )
    return root


def default_roots(env: Mapping[str, str] | None = None, rams: tuple[Path, ...] = ()) -> list[Path]:
    """Every root a run without ``reuse_dir`` may have kept servers under: the cache dir's,
    and the RAM one on each tmpfs of ``rams`` where it exists (what ``clean`` looks at)."""
    on_ram = (_ram_root(base) for base in rams)
    return list(dict.fromkeys([reuse_root(None, env), *(r for r in on_ram if r.is_dir())]))


class SlotBusy(ProvisionError):
    """A live run owns the slot."""

    def __init__(self, path: Path, owner: int | None) -> None:
        self.path = path
        self.owner = owner
        who = f"pid {owner}" if owner else "a run that has not written its pid yet"
        super().__init__(
            f"the reused server in {path} is owned by a live run ({who}); let that run end "
            f"(or stop it: kill {owner or '<pid>'}), then try again"
        )


@dataclass(frozen=True)
class Slot:
    """One reused server's directory, ``<root>/<project>/<slot>``."""

    path: Path

    @property
    def data(self) -> Path:
        return self.path / "data"

    @property
    def lock_path(self) -> Path:
        return self.path / LOCK_FILE

    @property
    def project(self) -> str:
        """The sql dir its project serves, as recorded when it was made."""
        try:
            recorded = json.loads((self.path.parent / PROJECT_FILE).read_text())
            return str(recorded["sql_dir"])
        except (OSError, ValueError, KeyError, TypeError):
            return "an unknown sql dir"

    def owner(self) -> int | None:
        """The pid written in the lock file (the last owner's, if it died)."""
        try:
            text = self.lock_path.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    @contextlib.contextmanager
    def owned(self) -> Iterator[None]:
        """Hold the slot's lock for the block; SlotBusy (naming the owner) if a live run
        holds it. Never waits: a second run of the same slot is told, not blocked."""
        while True:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise SlotBusy(self.path, self.owner()) from None
            # `clean` removes the lock file while holding it: a lock on a file no longer at
            # the path (or replaced) guards nothing, so open the path again.
            try:
                current = os.stat(self.lock_path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
            if current:
                break
            os.close(fd)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # no owner now; a dead owner's pid stays, which is harmless
            os.close(fd)


def _project(root: Path, sql_dir: Path) -> Path:
    resolved = str(Path(sql_dir).resolve())
    return root / hashlib.sha256(resolved.encode()).hexdigest()[:16]


def slot_for(root: Path, sql_dir: Path, name: str) -> Slot:
    """The slot ``name`` of the project of ``sql_dir`` (``make`` creates its directories)."""
    if not _SLOT_NAME.fullmatch(name):
        raise ProvisionError(f"reuse slot {name!r} must be 1-32 letters, digits, '_' or '-'")
    return Slot(_project(root, sql_dir) / name)


def make(slot: Slot, sql_dir: Path) -> None:
    """Create the slot's directories and its project's record of the sql dir."""
    slot.path.mkdir(parents=True, exist_ok=True)
    record = slot.path.parent / PROJECT_FILE
    if not record.exists():
        record.write_text(json.dumps({"sql_dir": str(Path(sql_dir).resolve())}) + "\n")


def slots(root: Path) -> list[Slot]:
    """Every slot under ``root``: only directories this module made (a project file beside
    them, a lock file inside), so a mistaken ``reuse_dir`` never has anything else removed."""
    if not root.is_dir():
        return []
    found = []
    for record in sorted(root.glob(f"*/{PROJECT_FILE}")):
        found += [Slot(lock.parent) for lock in sorted(record.parent.glob(f"*/{LOCK_FILE}"))]
    return found
