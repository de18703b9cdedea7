"""What every backend yields: a running server reachable through a superuser DSN."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

__all__ = ["THROWAWAY_SETTINGS", "Server", "durability", "locked_dir", "server_command"]

# A server the harness starts holds nothing worth keeping past a crash, so it runs without
# durability, as pytest-postgresql and testcontainers set-ups do: a CREATE DATABASE ... TEMPLATE
# and every commit stop waiting for the disk. A server named with `dsn` is never reconfigured.
THROWAWAY_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def durability(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """What the server ``conn`` reaches shows for each of ``THROWAWAY_SETTINGS``."""
    shown: dict[str, str] = {}
    for name in THROWAWAY_SETTINGS:
        row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
        shown[name] = str(row[0]) if row else "?"
    return shown


@contextmanager
def locked_dir(path: Path) -> Iterator[None]:
    """One process at a time in the block: an ``flock`` on the directory ``path`` itself, so
    no lock file is left behind (the kernel drops it when the holder dies). OSError where
    the directory cannot be opened."""
    import fcntl  # Unix only, as the servers and the image build that take the lock are

    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released with the close
        yield
    finally:
        os.close(fd)


def server_command() -> list[str]:
    """``postgres -c fsync=off ...``: the command a throw-away container runs."""
    command = ["postgres"]
    for name, value in THROWAWAY_SETTINGS.items():
        command += ["-c", f"{name}={value}"]
    return command


@dataclass(frozen=True)
class Server:
    """A PostgreSQL server the harness may create scratch databases on.

    ``dsn`` connects to the maintenance database as a role allowed to CREATE DATABASE.
    ``detail`` says where the server lives (data dir, image tag, host) for the pytest header.
    ``reused``: a server kept between runs (``--schema-kit-reuse``), which the run that got it
    owns alone until it ends; ``note`` what the header adds (how it was found, or why reuse
    was asked for and not given); ``storage`` where its data lives (``ram``, ``disk``; ""
    for a server the harness did not start).
    """

    backend: str
    dsn: str
    detail: str
    reused: bool = False
    note: str = ""
    storage: str = ""
