"""The migrator against a real server, on small synthetic chains."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from schema_kit.db.databases import Database
from schema_kit.db.migrations import Migrator, apply_script, discover
from schema_kit.errors import MigrationError
from schema_kit.inspect import take_snapshot
from tests.conftest import TINY_CHAIN, SqlDirFactory


@pytest.fixture
def empty_conn(
    schema_kit_db_factory: Callable[..., Database],
) -> Any:
    with schema_kit_db_factory(None).connect() as conn:
        yield conn


def _rows(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT version, description, checksum FROM schema_kit_migrations ORDER BY version"
    ).fetchall()
    conn.rollback()
    return rows


def test_up_records_version_description_checksum_and_is_idempotent(
    empty_conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory
) -> None:
    chain = discover(make_sql_dir(TINY_CHAIN))
    migrator = Migrator(empty_conn, chain, {})
    steps = migrator.migrate()
    assert [(str(s.migration.version), s.direction) for s in steps] == [
        ("1.0.0", "up"),
        ("1.1.0", "up"),
    ]
    assert _rows(empty_conn) == [
        ("1.0.0", "create things", chain[0].checksum),
        ("1.1.0", "add label", chain[1].checksum),
    ]
    before = take_snapshot(empty_conn)
    assert migrator.migrate() == []
    assert take_snapshot(empty_conn) == before


def test_to_version_goes_down_and_up(
    empty_conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory
) -> None:
    migrator = Migrator(empty_conn, discover(make_sql_dir(TINY_CHAIN)), {})
    migrator.migrate("1.0.0")
    at_1_0 = take_snapshot(empty_conn)
    migrator.migrate()
    steps = migrator.migrate("1.0.0")
    assert [(str(s.migration.version), s.direction) for s in steps] == [("1.1.0", "down")]
    assert take_snapshot(empty_conn) == at_1_0
    assert migrator.current() is not None and str(migrator.current()) == "1.0.0"
    migrator.migrate("base")
    assert _rows(empty_conn) == []
    assert "public.things" not in take_snapshot(empty_conn).names("tables")


def test_failure_half_way_leaves_schema_and_bookkeeping_as_before(
    empty_conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory
) -> None:
    files = dict(TINY_CHAIN)
    files["1.2.0_broken.up.sql"] = (
        "-- half done\nCREATE TABLE half (id int);\nALTER TABLE things ADD COLUMN x int;\n"
        "SELECT * FROM no_such_table;\n"
    )
    files["1.2.0_broken.down.sql"] = "DROP TABLE half;\n"
    migrator = Migrator(empty_conn, discover(make_sql_dir(files)), {})
    migrator.migrate("1.1.0")
    before, rows_before = take_snapshot(empty_conn), _rows(empty_conn)
    with pytest.raises(MigrationError) as info:
        migrator.migrate()
    message = str(info.value)
    assert "up 1.2.0 failed" in message and "[42P01]" in message and "no_such_table" in message
    assert isinstance(info.value.__cause__, psycopg.errors.UndefinedTable)
    assert take_snapshot(empty_conn) == before
    assert _rows(empty_conn) == rows_before


def test_tampered_applied_migration_is_refused(
    empty_conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory
) -> None:
    sql_dir = make_sql_dir(TINY_CHAIN)
    Migrator(empty_conn, discover(sql_dir), {}).migrate()
    path = sql_dir / "migrations" / "1.0.0_things.up.sql"
    path.write_text(path.read_text() + "-- sneaky edit\n")
    with pytest.raises(MigrationError, match=r"applied migration 1\.0\.0 was changed after it ran"):
        Migrator(empty_conn, discover(sql_dir), {}).migrate()


def test_version_inserted_below_head_is_refused(
    empty_conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory
) -> None:
    sql_dir = make_sql_dir(TINY_CHAIN)
    Migrator(empty_conn, discover(sql_dir), {}).migrate()
    make_sql_dir({"1.0.5_sneak.up.sql": "SELECT 1;", "1.0.5_sneak.down.sql": "SELECT 1;"})
    with pytest.raises(MigrationError, match="not a prefix of the chain"):
        Migrator(empty_conn, discover(sql_dir), {}).migrate()


def test_unknown_target_lists_the_known_versions(
    empty_conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory
) -> None:
    migrator = Migrator(empty_conn, discover(make_sql_dir(TINY_CHAIN)), {})
    with pytest.raises(MigrationError, match=r"unknown version 9\.9\.9.*1\.0\.0, 1\.1\.0"):
        migrator.migrate("9.9.9")


def test_migrating_inside_the_callers_open_transaction_is_still_kept(
    empty_conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory
) -> None:
    # The caller has read something (an implicit transaction is open) and rolls back after:
    # the steps must not have been savepoints of that transaction.
    empty_conn.execute("SELECT 1")
    Migrator(empty_conn, discover(make_sql_dir(TINY_CHAIN)), {}).migrate()
    empty_conn.rollback()
    assert [r[0] for r in _rows(empty_conn)] == ["1.0.0", "1.1.0"]
    assert empty_conn.execute("SELECT to_regclass('things')::text").fetchone() == ("things",)


def _failure(conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory, up: str,
             params: dict[str, int | str] | None = None) -> str:
    files = dict(TINY_CHAIN)
    files["1.2.0_broken.up.sql"] = up
    files["1.2.0_broken.down.sql"] = "SELECT 1;\n"
    sql_dir = make_sql_dir(files)
    migrator = Migrator(conn, discover(sql_dir), params or {})
    with pytest.raises(MigrationError) as info:
        migrator.migrate()
    message = str(info.value)
    assert "up 1.2.0 failed at " in message and "nothing of it was kept" in message
    prefix = f"{sql_dir / 'migrations' / '1.2.0_broken.up.sql'}:"
    return message.split(prefix, 1)[1].split(" ", 1)[0]


@pytest.mark.parametrize(
    ("up", "line"),
    [
        # the server's position: a syntax error, an unknown table mid-statement
        ("-- broken\nCREATE TABLE a (id int);\n\nSELECT 1\n  FROM things\n  WHERE;\n", "6"),
        ("-- broken\nCREATE TABLE a (id int);\nSELECT id\nFROM\n  no_such_table;\n", "5"),
        # no position: the statement that failed (a constraint), or PL/pgSQL's line in a DO
        ("-- broken\nCREATE TABLE a (id int PRIMARY KEY);\nINSERT INTO a\n"
         "VALUES (1), (1);\nSELECT 1;\n", "3"),
        ("-- broken\nSELECT 1;\nDO $$\nDECLARE n int := 1;\nBEGIN\n"
         "  RAISE EXCEPTION 'refused: %', n;\nEND $$;\n", "6"),
    ],
    ids=["syntax", "undefined-table", "unique-violation", "raise-in-do"],
)
def test_failure_names_the_file_and_line_of_the_statement(
    empty_conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory, up: str, line: str
) -> None:
    assert _failure(empty_conn, make_sql_dir, up) == line


def test_failure_line_is_of_the_file_not_of_the_rendered_text(
    empty_conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory
) -> None:
    # The values are longer than their :name and one spans lines once rendered.
    up = ("-- broken\nCOMMENT ON TABLE things IS :'note';\nCREATE TABLE v (e int[:dim]);\n"
          "SELECT :dim, :'note',\n  no_such_column FROM things;\n")
    params: dict[str, int | str] = {"note": "three\nlines\nhere " * 20, "dim": 123456789}
    assert _failure(empty_conn, make_sql_dir, up, params) == "5"


def test_apply_script_names_the_file_and_line(
    empty_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    script = tmp_path / "init.sql"
    script.write_text("-- init\nCREATE TABLE a (id int);\nCREATE TABLE a (id int);\n")
    with pytest.raises(MigrationError, match=rf"^{re.escape(str(script))}:3 failed \[42P07\]"):
        apply_script(empty_conn, script, {})
    assert empty_conn.execute("SELECT to_regclass('a')").fetchone() == (None,)
    empty_conn.rollback()
