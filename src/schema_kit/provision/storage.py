"""Where a throw-away server keeps its data: in RAM (a tmpfs) or on disk.

A test database costs mostly file creation: a ``CREATE DATABASE ... TEMPLATE`` of the head
template creates about 800 files. On this kind of machine's virtual disk one ``open(O_CREAT)``
took 0.45 ms, so a clone took 0.37 s, and initdb (thousands of files) most of a server's
2-3 s start; on a tmpfs the same clone took 0.02 s and the start 0.6 s. A throw-away server
holds nothing worth keeping, so by default (``auto``) its data lives in RAM where a tmpfs
with room for it exists. Benchmarks ask for ``disk``: they measure what a real server does.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from schema_kit.errors import ProvisionError

__all__ = [
    "MIN_FREE_BYTES", "RAM_FILESYSTEMS", "Storage", "choose_storage", "filesystem_of",
    "kind_of", "ram_candidates",
]

RAM_FILESYSTEMS = ("tmpfs", "ramfs")
# A suite's server holds a few hundred MB at most; below this much room, RAM is not offered.
MIN_FREE_BYTES = 1 << 30
_SHM = Path("/dev/shm")


@dataclass(frozen=True)
class Storage:
    """``kind`` is ``ram`` or ``disk``; ``base`` the directory an embedded server's temp dir
    goes under (None: TMPDIR); ``note`` why ``auto`` gave disk, for the run's header."""

    kind: str
    base: Path | None = None
    note: str = ""


def _unescape(field: str) -> str:
    # /proc/self/mounts writes a space in a path as \040 (octal), and so on.
    return field.encode().decode("unicode_escape")


def filesystem_of(path: Path, mounts: Path = Path("/proc/self/mounts")) -> str:
    """The type of the filesystem ``path`` is on (its longest mount point), or "" where the
    mount table cannot be read (not Linux)."""
    try:
        lines = mounts.read_text().splitlines()
    except OSError:
        return ""
    target = str(path.resolve())
    best, kind = "", ""
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = _unescape(fields[1])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def _candidates() -> list[Path]:
    # TMPDIR first, so a caller that points TMPDIR at a tmpfs of its own (a test that looks
    # for leftovers there) finds the server there.
    found = [Path(tempfile.gettempdir()), _SHM]
    return list(dict.fromkeys(found))


def kind_of(path: Path) -> str:
    """``ram`` where ``path`` is on a RAM filesystem, else ``disk``: what a server whose data
    dir is there says of its storage."""
    return "ram" if filesystem_of(path) in RAM_FILESYSTEMS else "disk"


def ram_candidates() -> tuple[Path, ...]:
    """The places ``ram`` storage looks at that are a RAM filesystem, room or not."""
    return tuple(p for p in _candidates() if p.is_dir() and filesystem_of(p) in RAM_FILESYSTEMS)


def _ram_dir(min_free: int) -> tuple[Path | None, list[str]]:
    tried = []
    for candidate in _candidates():
        if not candidate.is_dir():
            tried.append(f"{candidate} (absent)")
            continue
        kind = filesystem_of(candidate) or "unknown"
        if kind not in RAM_FILESYSTEMS:
            tried.append(f"{candidate} ({kind})")
            continue
        free = shutil.disk_usage(candidate).free
        if free < min_free or not os.access(candidate, os.W_OK | os.X_OK):
            tried.append(f"{candidate} ({kind}, {free >> 20} MiB free"
                         f"{'' if os.access(candidate, os.W_OK) else ', not writable'})")
            continue
        return candidate, tried
    return None, tried


def choose_storage(asked: str, min_free: int = MIN_FREE_BYTES) -> Storage:
    """Resolve the ``storage`` option: ``disk``; ``ram`` (a tmpfs: TMPDIR if it is one, else
    /dev/shm, with ``min_free`` bytes free, or a ProvisionError listing what was tried);
    ``auto``: ram where there is one, else disk with a note saying why."""
    if asked == "disk":
        return Storage("disk")
    base, tried = _ram_dir(min_free)
    if base is not None:
        return Storage("ram", base)
    listing = "; ".join(tried)
    if asked == "ram":
        raise ProvisionError(
            f"storage=ram needs a RAM-backed tmpfs with {min_free >> 20} MiB free; tried: "
            f"{listing}. Remedy: point TMPDIR at a tmpfs, free some of /dev/shm, or set "
            "storage to disk or auto (SCHEMA_KIT_STORAGE)"
        )
    return Storage("disk", note=f"storage auto: disk (no tmpfs with room: {listing})")
