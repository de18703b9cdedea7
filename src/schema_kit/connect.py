"""Connections with errors that name the server, the cause and the remedy."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import conninfo

from schema_kit.errors import ProvisionError

__all__ = ["connect", "dsn_for", "redact"]


def redact(dsn: str) -> str:
    """The DSN without its password, fit for messages and reports."""
    try:
        params = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparseable DSN>"
    if "password" in params:
        params["password"] = "***"
    return conninfo.make_conninfo("", **{k: v for k, v in params.items() if v is not None})


def dsn_for(dsn: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    return conninfo.make_conninfo(dsn, dbname=dbname)


def connect(dsn: str, *, autocommit: bool = False, **kwargs: Any) -> psycopg.Connection[Any]:
    """psycopg.connect, with connection failures turned into a ProvisionError."""
    try:
        params = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise ProvisionError(
            f"malformed DSN {dsn!r}: {exc}; expected e.g. postgresql://user:pass@host:5432/db"
        ) from None
    params.setdefault("connect_timeout", 10)
    try:
        target = conninfo.make_conninfo("", **params)
        return psycopg.connect(target, autocommit=autocommit, **kwargs)
    except psycopg.OperationalError as exc:
        reason = " ".join(line.strip() for line in str(exc).splitlines()) or type(exc).__name__
        raise ProvisionError(
            f"cannot connect to {redact(dsn)}: {reason}. Check that the server runs and the "
            "host, port, user and password are right, or let the harness start one "
            "(--backend embedded or container)"
        ) from None
