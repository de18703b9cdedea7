"""Migrations marked ``-- schema_kit: no-transaction``: CREATE INDEX CONCURRENTLY, and what a
failed one leaves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from schema_kit.db.databases import Database
from schema_kit.db.migrations import Migrator, discover
from schema_kit.errors import MigrationError
from tests.conftest import TINY_CHAIN, SqlDirFactory

MARK = "-- schema_kit: no-transaction\n"


def _chain(index: str, marked: bool = True) -> dict[str, str]:
    head = MARK if marked else ""
    return {**TINY_CHAIN,
            "1.2.0_label_index.up.sql": f"-- index the label\n{head}{index}\n",
            "1.2.0_label_index.down.sql": f"-- drop it\n{head}"
                                          "DROP INDEX CONCURRENTLY things_label_idx;\n"}


def _indexes(conn: psycopg.Connection[Any]) -> dict[str, bool]:
    rows = conn.execute("SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON "
                        "c.oid = i.indexrelid WHERE i.indrelid = 'things'::regclass").fetchall()
    conn.rollback()
    return {str(name): bool(valid) for name, valid in rows}


@pytest.fixture
def empty(schema_kit_db_factory: Callable[..., Database]) -> Database:
    return schema_kit_db_factory(None)


def test_a_marked_migration_builds_an_index_concurrently_and_drops_it_down(
    empty: Database, make_sql_dir: SqlDirFactory,
) -> None:
    chain = discover(make_sql_dir(_chain(
        "CREATE INDEX CONCURRENTLY things_label_idx ON things (label);")))
    with empty.connect() as conn:
        migrator = Migrator(conn, chain, {}, lock_timeout_ms=1000, lock_retries=2)
        assert [str(s.migration.version) for s in migrator.migrate()] == [
            "1.0.0", "1.1.0", "1.2.0"]
        assert _indexes(conn) == {"things_pkey": True, "things_label_idx": True}
        migrator.migrate("1.1.0")
        assert _indexes(conn) == {"things_pkey": True}
        assert str(migrator.current()) == "1.1.0"


def test_unmarked_it_is_refused_inside_the_migration_transaction(
    empty: Database, make_sql_dir: SqlDirFactory,
) -> None:
    chain = discover(make_sql_dir(_chain(
        "CREATE INDEX CONCURRENTLY things_label_idx ON things (label);", marked=False)))
    with empty.connect() as conn:
        with pytest.raises(MigrationError, match=r"up 1\.2\.0 failed .*\[25001\]"):
            Migrator(conn, chain, {}).migrate()
        assert _indexes(conn) == {"things_pkey": True}


def test_a_failed_concurrent_build_leaves_no_invalid_index_and_runs_again(
    empty: Database, make_sql_dir: SqlDirFactory,
) -> None:
    chain = discover(make_sql_dir(_chain(
        "CREATE UNIQUE INDEX CONCURRENTLY things_label_idx ON things (label);")))
    with empty.connect() as conn:
        migrator = Migrator(conn, chain, {})
        migrator.migrate("1.1.0")
        conn.execute("INSERT INTO things VALUES (1, 'same'), (2, 'same')")
        conn.commit()
        with pytest.raises(MigrationError) as info:
            migrator.migrate()
        message = str(info.value)
        assert "[23505]" in message and "dropped the INVALID index things_label_idx" in message
        assert "is marked no-transaction, so it is not all-or-nothing" in message
        assert _indexes(conn) == {"things_pkey": True}  # PostgreSQL had kept it, INVALID
        assert str(migrator.current()) == "1.1.0"
        conn.execute("UPDATE things SET label = 'other' WHERE id = 2")
        conn.commit()
        migrator.migrate()
        assert _indexes(conn) == {"things_pkey": True, "things_label_idx": True}


BACKFILL = """-- backfill the label in batches
-- schema_kit: no-transaction
CREATE PROCEDURE label_batches(p_batch int)
LANGUAGE plpgsql AS $$
DECLARE
    v_done int;
BEGIN
    LOOP
        UPDATE things SET label = 'n' || id
         WHERE id IN (SELECT id FROM things WHERE label IS NULL ORDER BY id LIMIT p_batch);
        GET DIAGNOSTICS v_done = ROW_COUNT;
        EXIT WHEN v_done = 0;
        INSERT INTO batches VALUES (v_done);
        COMMIT;  -- each batch is its own short transaction: its row locks end here
    END LOOP;
END;
$$;
CREATE TABLE batches (n int);
CALL label_batches(2);
DROP PROCEDURE label_batches(int);
"""


@pytest.mark.parametrize("marked", [True, False], ids=["no-transaction", "transactional"])
def test_a_batched_backfill_commits_each_batch_only_outside_a_transaction(
    empty: Database, make_sql_dir: SqlDirFactory, marked: bool,
) -> None:
    up = BACKFILL if marked else BACKFILL.replace("-- schema_kit: no-transaction\n", "")
    chain = discover(make_sql_dir({**TINY_CHAIN, "1.2.0_backfill.up.sql": up,
                                   "1.2.0_backfill.down.sql": "DROP TABLE batches;\n"}))
    with empty.connect() as conn:
        migrator = Migrator(conn, chain, {})
        migrator.migrate("1.1.0")
        conn.execute("INSERT INTO things SELECT g FROM generate_series(1, 5) g")
        conn.commit()
        if not marked:  # a COMMIT inside the migration's own transaction is refused
            with pytest.raises(MigrationError, match=r"\[2D000\]"):
                migrator.migrate()
            assert str(migrator.current()) == "1.1.0"
            return
        migrator.migrate()
        batches = [r[0] for r in conn.execute("SELECT n FROM batches").fetchall()]
        labels = conn.execute("SELECT count(*) FROM things WHERE label IS NULL").fetchone()
        conn.rollback()
    assert batches == [2, 2, 1] and labels == (0,)


def test_an_online_form_is_run_instead_of_the_up_script_only_when_asked(
    schema_kit_db_factory: Callable[..., Database], make_sql_dir: SqlDirFactory,
) -> None:
    """``<version>_<name>.online.sql`` beside the pair: ``Migrator(online=True)`` applies it
    in the up script's place and records the version with the up script's checksum (the
    two must reach one schema; a later check compares against that file)."""
    chain = discover(make_sql_dir({
        **_chain("CREATE INDEX things_label_idx ON things (label);"),
        "1.2.0_label_index.online.sql": f"-- index the label, online\n{MARK}"
                                        "CREATE INDEX CONCURRENTLY things_label_idx ON things "
                                        "(label);\nCREATE TABLE ran_online ();\n"}))
    assert [m.online_path is not None for m in chain] == [False, False, True]
    for online, tables in ((False, set()), (True, {"ran_online"})):
        with schema_kit_db_factory(None).connect() as conn:
            Migrator(conn, chain, {}, online=online).migrate()
            found = {r[0] for r in conn.execute(
                "SELECT relname FROM pg_class WHERE relname = 'ran_online'").fetchall()}
            recorded = conn.execute("SELECT checksum FROM schema_kit_migrations "
                                    "WHERE version = '1.2.0'").fetchone()
            conn.rollback()
            assert found == tables and _indexes(conn)["things_label_idx"]
            assert recorded is not None and recorded[0].strip() == chain[-1].checksum
            assert Migrator(conn, chain, {}).check()  # no checksum mismatch either way
