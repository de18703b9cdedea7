"""Template databases and per-test clones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from schema_kit.db.databases import SCRATCH_COMMENT, Database, ScratchDatabases
from schema_kit.db.harness import Harness
from schema_kit.errors import SchemaKitError

Factory = Callable[..., Database]


def _doc_count(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM lightrag_doc_full").fetchone()
    assert row is not None
    return int(row[0])


def _exists(harness: Harness, name: str) -> bool:
    row = harness.scratch.admin.execute(
        "SELECT count(*) FROM pg_database WHERE datname = %s", (name,)
    ).fetchone()
    return row == (1,)


def test_a_committed_write_stays_in_its_own_clone(
    schema_kit_db_factory: Factory, schema_kit_harness: Harness
) -> None:
    """Clones of one template share nothing: not with each other while both exist, and not
    with a clone made after the written one is gone (the write never reached the template).
    Self-contained, so it holds whichever worker runs it and in whatever order."""
    other = schema_kit_db_factory("head")
    with schema_kit_harness.templates.database("head") as written:
        assert written.name != other.name
        with written.connect() as conn:
            conn.execute(
                "INSERT INTO lightrag_doc_full (workspace, id, content) "
                "VALUES ('iso:kb', 'd1', 'x')"
            )
            conn.commit()
        with written.connect() as conn:  # a new session: the row is really committed
            assert _doc_count(conn) == 1
        with other.connect() as conn:
            assert _doc_count(conn) == 0
    assert not _exists(schema_kit_harness, written.name)
    after = schema_kit_db_factory("head")
    assert after.name not in (written.name, other.name)
    with after.connect() as conn:
        assert _doc_count(conn) == 0


def test_clones_copy_the_template_instead_of_re_migrating(
    schema_kit_db_factory: Factory, schema_kit_harness: Harness
) -> None:
    first, second = schema_kit_db_factory("head"), schema_kit_db_factory("head")
    assert first.name != second.name
    stamps = []
    for db in (first, second):
        with db.connect() as conn:
            stamps.append(
                conn.execute(
                    "SELECT array_agg(applied_at ORDER BY version) FROM schema_kit_migrations")
                .fetchall()
            )
    # Identical applied_at timestamps: both carry the template's rows, not a run of their own.
    assert stamps[0] == stamps[1]
    comment = schema_kit_harness.scratch.admin.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        (first.name,),
    ).fetchone()
    assert comment == (SCRATCH_COMMENT,)


def test_factory_makes_any_version_and_base(schema_kit_db_factory: Factory) -> None:
    for version, expected in (("2.0.0", ["1.0.0", "2.0.0"]), (None, [])):
        with schema_kit_db_factory(version).connect() as conn:
            rows = conn.execute("SELECT version FROM schema_kit_migrations ORDER BY 1").fetchall()
        assert [r[0] for r in rows] == expected


def test_never_drops_a_database_it_did_not_create(schema_kit_harness: Harness) -> None:
    admin = schema_kit_harness.scratch.admin
    admin.execute("CREATE DATABASE someone_elses_db")
    try:
        with pytest.raises(SchemaKitError, match="did not create it"):
            schema_kit_harness.scratch.drop("someone_elses_db")
        assert admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = 'someone_elses_db'"
        ).fetchone() == (1,)
    finally:
        admin.execute("DROP DATABASE someone_elses_db")


def test_close_after_a_query_cut_off_mid_flight_still_drops_everything(
    schema_kit_harness: Harness,
) -> None:
    # Ctrl-C inside execute() can leave the admin connection with a result unread; this
    # puts it in that state on purpose: a query sent, its result never consumed.
    scratch = ScratchDatabases(schema_kit_harness.server, "schema_kit_cut_")
    names = [scratch.create("a"), scratch.create("b")]
    scratch.admin.pgconn.send_query(b"SELECT pg_sleep(0.2)")
    scratch.close()
    with psycopg.connect(schema_kit_harness.server.dsn) as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE datname = ANY(%s)", (names,)
        ).fetchall()
    assert left == []


def test_a_template_takes_no_connections_so_a_clone_never_waits_for_one(
    schema_kit_harness: Harness,
) -> None:
    name = schema_kit_harness.templates.template("head")
    row = schema_kit_harness.scratch.admin.execute(
        "SELECT datistemplate, datallowconn FROM pg_database WHERE datname = %s", (name,)
    ).fetchone()
    assert row == (True, False)
    first = schema_kit_harness.templates.clone("head")
    template_dsn = psycopg.conninfo.make_conninfo(first.dsn, dbname=name)
    with pytest.raises(psycopg.OperationalError):  # refused: not accepting connections
        psycopg.connect(template_dsn).close()
    second = schema_kit_harness.templates.clone("head")  # the refusal left nothing behind
    try:
        with second.connect() as conn:
            assert _doc_count(conn) == 0
    finally:
        for db in (first, second):
            schema_kit_harness.scratch.drop(db.name)
