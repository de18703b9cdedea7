"""DSN backend: a server the user already runs. We only create and drop our own databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from schema_kit.connect import connect, redact
from schema_kit.provision.base import Server

__all__ = ["use_dsn"]


@contextmanager
def use_dsn(dsn: str) -> Iterator[Server]:
    """Check the server answers and may create databases; nothing to stop afterwards."""
    with connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    if not row or not row[0]:
        from schema_kit.errors import ProvisionError

        raise ProvisionError(
            f"the role in {redact(dsn)} may not create databases; the harness works in "
            "scratch databases of its own: ALTER ROLE ... CREATEDB, or use another role"
        )
    yield Server(backend="dsn", dsn=dsn, detail=redact(dsn))
