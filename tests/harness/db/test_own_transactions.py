"""Scripts with BEGIN/COMMIT of their own are applied as psql applies them, and a failure says
honestly what was committed, instead of a false "nothing of it was kept"."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from schema_kit.db.databases import Database
from schema_kit.db.migrations import Migrator, apply_script, discover
from schema_kit.errors import MigrationError
from tests.conftest import TINY_CHAIN, SqlDirFactory

PROBE = "-- probe\nBEGIN;\nCREATE TABLE probe_t ();\nCOMMIT;\nSELECT 1/0;\n"
DOWN = "-- drop the probe\nDROP TABLE IF EXISTS probe_t;\n"


@pytest.fixture
def empty_conn(schema_kit_db_factory: Callable[..., Database]) -> Iterator[Any]:
    with schema_kit_db_factory(None).connect() as conn:
        yield conn


def _chain(make_sql_dir: SqlDirFactory, up: str) -> Any:
    return discover(make_sql_dir({**TINY_CHAIN, "1.2.0_probe.up.sql": up,
                                  "1.2.0_probe.down.sql": DOWN}))


def _exists(conn: psycopg.Connection[Any], table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    conn.rollback()
    return bool(row and row[0])


def _versions(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute("SELECT version FROM schema_kit_migrations ORDER BY 1").fetchall()
    conn.rollback()
    return [r[0] for r in rows]


def test_a_commit_before_the_failure_is_reported_as_kept(
    empty_conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory
) -> None:
    migrator = Migrator(empty_conn, _chain(make_sql_dir, PROBE), {})
    with pytest.raises(MigrationError) as info:
        migrator.migrate("head")
    message = str(info.value)
    assert "1.2.0_probe.up.sql:5 [22012]" in message  # the SELECT 1/0
    assert "not all-or-nothing" in message and "BEGIN/COMMIT at line 2, 4" in message
    assert "1 statement(s) before it were committed and remain (line 3)" in message
    assert "nothing of it was kept" not in message
    assert _exists(empty_conn, "probe_t")  # what the message says is true
    assert _versions(empty_conn) == ["1.0.0", "1.1.0"]  # 1.2.0 is not recorded


def test_a_failure_inside_the_scripts_block_keeps_nothing_of_the_block(
    empty_conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory
) -> None:
    up = "-- probe\nBEGIN;\nCREATE TABLE probe_t ();\nSELECT 1/0;\nCOMMIT;\n"
    with pytest.raises(MigrationError, match="nothing of it was committed"):
        Migrator(empty_conn, _chain(make_sql_dir, up), {}).migrate("head")
    assert not _exists(empty_conn, "probe_t")


def test_a_script_with_its_own_transaction_applies_and_rolls_back(
    empty_conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory
) -> None:
    up = "-- probe\nCREATE TABLE before_t ();\nBEGIN;\nCREATE TABLE probe_t ();\nCOMMIT;\n"
    migrator = Migrator(empty_conn, _chain(make_sql_dir, up), {})
    steps = migrator.migrate("head")
    assert [str(s.migration.version) for s in steps] == ["1.0.0", "1.1.0", "1.2.0"]
    assert _exists(empty_conn, "probe_t") and _versions(empty_conn)[-1] == "1.2.0"
    migrator.migrate("1.1.0")
    assert not _exists(empty_conn, "probe_t") and _versions(empty_conn)[-1] == "1.1.0"


def test_a_block_never_committed_is_an_error_not_a_silent_rollback(
    empty_conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory
) -> None:
    up = "-- probe\nBEGIN;\nCREATE TABLE probe_t ();\n"
    with pytest.raises(MigrationError, match=r"1.2.0_probe.up.sql:2 opens a transaction"):
        Migrator(empty_conn, _chain(make_sql_dir, up), {}).migrate("head")
    assert not _exists(empty_conn, "probe_t")
    assert _versions(empty_conn) == ["1.0.0", "1.1.0"]


def test_plpgsql_begin_end_is_not_transaction_control(
    empty_conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory
) -> None:
    up = ("-- probe\nCREATE TABLE probe_t ();\n"
          "DO $$\nBEGIN\n  PERFORM 1/0;\nEND\n$$;\n")
    with pytest.raises(MigrationError, match="nothing of it was kept"):
        Migrator(empty_conn, _chain(make_sql_dir, up), {}).migrate("head")
    assert not _exists(empty_conn, "probe_t")  # still all-or-nothing


def test_an_init_script_with_its_own_transaction_is_applied(
    empty_conn: psycopg.Connection[Any], tmp_path: Any
) -> None:
    script = tmp_path / "init.sql"
    script.write_text("BEGIN;\nCREATE TABLE probe_t ();\nCOMMIT;\nCREATE TABLE after_t ();\n")
    apply_script(empty_conn, script, {})
    assert _exists(empty_conn, "probe_t") and _exists(empty_conn, "after_t")
