"""What every backend yields: a running server reachable through a superuser DSN."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Server"]


@dataclass(frozen=True)
class Server:
    """A PostgreSQL server the harness may create scratch databases on.

    ``dsn`` connects to the maintenance database as a role allowed to CREATE DATABASE.
    ``detail`` says where the server lives (data dir, image tag, host) for the pytest header.
    """

    backend: str
    dsn: str
    detail: str
