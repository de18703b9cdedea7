"""Migrations marked to run outside a transaction, for DDL that cannot run inside one.

``CREATE INDEX CONCURRENTLY`` (and ``DROP INDEX CONCURRENTLY``, ``REINDEX CONCURRENTLY``)
refuse a transaction block (25001), yet they are how an index is built without blocking
LightRAG's writers. A migration says ``-- schema_kit: no-transaction`` among its leading
comments; the migrator then runs it as psql runs it (statement by statement, autocommit), so
it is not all-or-nothing, and it:

- waits at most ``lock_timeout`` for each lock when one is set, re-running a statement refused
  for it (55P03) outside a block, where a refused statement changed nothing;
- drops, on a failure, the INVALID index a failed ``CREATE INDEX CONCURRENTLY`` leaves behind
  (PostgreSQL keeps it, and the same statement run again would then fail on its name), so
  the migration can simply be run again.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from psycopg import errors, sql
from psycopg.pq import TransactionStatus

from schema_kit.db.sqlscript import Script

__all__ = ["drop_invalid", "invalid_indexes", "lock_timeout", "no_transaction", "retrying"]

_MARK = re.compile(r"(?im)^--\s*schema_kit:\s*no-transaction\s*$")
_INVALID = (
    "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE NOT i.indisvalid AND c.relnamespace = current_schema()::regnamespace"
)


def no_transaction(script: Script) -> bool:
    """Whether the script is marked to run outside a transaction (in its leading comments)."""
    head = script.rendered[:script.statements[0].start] if script.statements else script.rendered
    return bool(_MARK.search(head))


@contextlib.contextmanager
def lock_timeout(conn: psycopg.Connection[Any], ms: int | None) -> Iterator[None]:
    """The session's lock_timeout set to ``ms`` for the block (nothing when None)."""
    if ms is None:
        yield
        return
    conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{ms}ms")))
    conn.commit()
    try:
        yield
    finally:
        if not conn.closed and not conn.broken:
            conn.rollback()
            conn.execute("RESET lock_timeout")
            conn.commit()


def retrying(retries: int) -> Callable[[psycopg.Connection[Any], str], None]:
    """Run one statement; refused for a lock timeout outside a block, run it again (up to
    ``retries`` times, backing off 50 ms doubling to 1 s, so queued writers go first)."""

    def execute(conn: psycopg.Connection[Any], text: str) -> None:
        for attempt in range(retries + 1):
            try:
                conn.execute(text.encode())
                return
            except errors.LockNotAvailable:
                if attempt == retries or conn.info.transaction_status != TransactionStatus.IDLE:
                    raise
                time.sleep(min(1.0, 0.05 * 2 ** attempt))

    return execute


def invalid_indexes(conn: psycopg.Connection[Any]) -> set[str]:
    names = {str(r[0]) for r in conn.execute(_INVALID).fetchall()}
    if not conn.autocommit:
        conn.rollback()
    return names


def drop_invalid(conn: psycopg.Connection[Any], names: set[str]) -> None:
    """``DROP INDEX CONCURRENTLY`` each of ``names`` (it, too, refuses a transaction)."""
    autocommit = conn.autocommit
    conn.autocommit = True
    try:
        for name in sorted(names):
            conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(
                sql.Identifier(name)))
    finally:
        conn.autocommit = autocommit
