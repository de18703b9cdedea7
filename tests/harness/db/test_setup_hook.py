"""``setup.sql`` beside ``migrations/``: what a chain assumes of its server (a role to grant
to, an extension the server lacks), run as superuser on every scratch database first."""

from __future__ import annotations

from pathlib import Path

import pytest

from schema_kit.db.databases import Templates
from schema_kit.db.harness import Harness
from schema_kit.errors import MigrationError
from tests.conftest import SqlDirFactory
from tests.harness.fork_chain import setup_script

CHAIN = {
    "1.0.0_docs.up.sql": (
        "-- documents keyed by uuid, readable by the app role\n"
        "CREATE TABLE docs (id uuid PRIMARY KEY DEFAULT uuid_generate_v4(), body text);\n"
        "GRANT SELECT ON docs TO schema_kit_app;\n"
    ),
    "1.0.0_docs.down.sql": "-- drop documents\nDROP TABLE docs;\n",
}
SETUP = setup_script("schema_kit_app")


def _templates(harness: Harness, sql_dir: Path) -> Templates:
    return Templates(harness.scratch, sql_dir, harness.params)


def test_without_setup_the_chain_fails_naming_what_is_missing(
    make_sql_dir: SqlDirFactory, schema_kit_harness: Harness
) -> None:
    templates = _templates(schema_kit_harness, make_sql_dir(CHAIN))
    with pytest.raises(MigrationError, match=r"uuid_generate_v4|schema_kit_app"):
        templates.template("1.0.0")


def test_setup_runs_on_every_scratch_database_before_the_chain(
    make_sql_dir: SqlDirFactory, schema_kit_harness: Harness
) -> None:
    sql_dir = make_sql_dir(CHAIN)
    (sql_dir / "setup.sql").write_text(SETUP, encoding="utf-8")
    templates = _templates(schema_kit_harness, sql_dir)
    with templates.database("1.0.0") as db, db.connect() as conn:
        row = conn.execute("INSERT INTO docs (body) VALUES ('x') RETURNING id").fetchone()
        assert row is not None and len(str(row[0])) == 36
        granted = conn.execute(
            "SELECT has_table_privilege('schema_kit_app', 'docs', 'SELECT')").fetchone()
        assert granted == (True,)
    # An empty database (as init scripts get) is prepared too, and setup runs again safely.
    with templates.database(None) as db, db.connect() as conn:
        assert conn.execute("SELECT to_regprocedure('uuid_generate_v4()') IS NOT NULL"
                            ).fetchone() == (True,)


def test_a_changed_setup_script_makes_a_new_template(
    make_sql_dir: SqlDirFactory, schema_kit_harness: Harness
) -> None:
    sql_dir = make_sql_dir(CHAIN)
    (sql_dir / "setup.sql").write_text(SETUP, encoding="utf-8")
    templates = _templates(schema_kit_harness, sql_dir)
    first = templates.template("1.0.0")
    (sql_dir / "setup.sql").write_text(SETUP + "-- changed\n", encoding="utf-8")
    assert templates.template("1.0.0") != first
