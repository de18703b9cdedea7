"""The migrator's lock timeout: a migration waits at most that long for a lock, and is re-run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from schema_kit.cli import main
from schema_kit.db.databases import Database
from schema_kit.db.migrations import Migrator, discover
from schema_kit.errors import MigrationError
from tests.conftest import TINY_CHAIN, SqlDirFactory


@pytest.fixture
def at_1_0(schema_kit_db_factory: Callable[..., Database],
           make_sql_dir: SqlDirFactory) -> Iterator[tuple[Database, psycopg.Connection[Any],
                                                          Migrator]]:
    """A database at 1.0.0 of the tiny chain; 1.1.0 (ALTER TABLE things) is pending."""
    db = schema_kit_db_factory(None)
    with db.connect() as conn:
        migrator = Migrator(conn, discover(make_sql_dir(TINY_CHAIN)), {},
                            lock_timeout_ms=50, lock_retries=2)
        migrator.migrate("1.0.0")
        yield db, conn, migrator


def _versions(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute("SELECT version FROM schema_kit_migrations ORDER BY 1").fetchall()
    conn.rollback()
    return [str(r[0]) for r in rows]


def test_a_lock_never_granted_fails_with_55p03_after_the_retries_keeping_nothing(
    at_1_0: tuple[Database, psycopg.Connection[Any], Migrator],
) -> None:
    db, conn, migrator = at_1_0
    with db.connect() as holder:
        holder.execute("LOCK TABLE things IN ACCESS SHARE MODE")  # as a long reader would
        with pytest.raises(MigrationError, match=r"up 1\.1\.0 failed .*\[55P03\]") as info:
            migrator.migrate("1.1.0")
        holder.rollback()
    assert isinstance(info.value.__cause__, psycopg.errors.LockNotAvailable)
    assert _versions(conn) == ["1.0.0"]


def test_a_lock_granted_after_a_timeout_applies_on_a_later_attempt(
    at_1_0: tuple[Database, psycopg.Connection[Any], Migrator],
) -> None:
    db, conn, migrator = at_1_0
    pid, released = conn.info.backend_pid, threading.Event()
    errors: list[BaseException] = []
    with db.connect() as holder, db.connect(autocommit=True) as watcher:
        holder.execute("LOCK TABLE things IN ACCESS SHARE MODE")

        def release_after_the_first_timeout() -> None:
            # Released once the migrator was seen waiting and then no longer waiting: its
            # first attempt timed out while the lock was held.
            try:
                waited = False
                while not released.is_set():
                    row = watcher.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND "
                                          "NOT granted", (pid,)).fetchone()
                    if row and row[0]:
                        waited = True
                    elif waited:
                        holder.rollback()
                        released.set()
                    time.sleep(0.002)
            except BaseException as exc:  # reported by the test, never lost
                errors.append(exc)
                released.set()

        thread = threading.Thread(target=release_after_the_first_timeout)
        thread.start()
        try:
            (step,) = migrator.migrate("1.1.0")
        finally:
            released.set()
            thread.join(timeout=30)
    assert not thread.is_alive() and errors == []
    assert step.attempts >= 2
    assert _versions(conn) == ["1.0.0", "1.1.0"]


def test_migrate_lock_timeout_ms_on_the_command_line(
    schema_kit_db_factory: Callable[..., Database], make_sql_dir: SqlDirFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sql_dir = make_sql_dir(TINY_CHAIN)
    db = schema_kit_db_factory(None)
    base = ["migrate", "--dsn", db.dsn, "--sql-dir", str(sql_dir)]
    assert main([*base, "--to", "1.0.0"]) == 0
    with db.connect() as holder:
        holder.execute("LOCK TABLE things IN ACCESS SHARE MODE")
        assert main([*base, "--lock-timeout-ms", "50", "--lock-retries", "1"]) == 2
        holder.rollback()
    err = capsys.readouterr().err
    assert "up 1.1.0 failed" in err and "[55P03]" in err and "Traceback" not in err
    assert main(base) == 0
