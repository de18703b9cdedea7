"""Every subcommand against databases schema_kit did not build: an empty one, one with a
chain's own ``schema_migrations``, one built by running the scripts (as psql would) and a
half-applied chain. Each answers with what it sees or one line naming the remedy: never a
traceback, never a crash on someone else's bookkeeping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from schema_kit.cli import main
from schema_kit.db.databases import Database
from schema_kit.db.harness import Harness
from schema_kit.db.migrations import apply_script, discover

# End to end: whole runs in processes of their own (see conftest.py).
pytestmark = pytest.mark.e2e



KINDS = ("empty", "foreign_bookkeeping", "psql_built", "half_applied")
FOREIGN = """
CREATE TABLE schema_migrations (
    version VARCHAR(50) PRIMARY KEY, description TEXT, status VARCHAR(20),
    applied_at TIMESTAMPTZ DEFAULT now());
INSERT INTO schema_migrations (version, description, status)
VALUES ('1.0.0', 'initial', 'completed'), ('2.0.0', 'tenant columns', 'completed');
CREATE TABLE tenants (tenant_id VARCHAR(255) PRIMARY KEY, name TEXT);
"""


def _build(kind: str, harness: Harness) -> Database:
    db = harness.templates.clone(None, purpose="any")  # only the harness's bookkeeping
    with db.connect() as conn:
        conn.execute("DROP TABLE schema_kit_migrations")
        conn.commit()
        if kind == "foreign_bookkeeping":
            conn.execute(FOREIGN)
            conn.commit()
        elif kind == "psql_built":  # every up script up to 3.0.0, run by hand
            for migration in discover(harness.settings.sql_dir):
                apply_script(conn, migration.up_path, harness.params)
                if str(migration.version) == "3.0.0":
                    break
        elif kind == "half_applied":
            migrator = harness.templates.migrator(conn)
            migrator.migrate("2.0.0")
            conn.execute("CREATE FUNCTION sync_tenant_from_workspace() RETURNS trigger "
                         "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$")
            conn.commit()
    return db


@pytest.fixture
def databases(schema_kit_harness: Harness, reference_on_the_session_server: None
              ) -> Iterator[dict[str, Database]]:
    made = {kind: _build(kind, schema_kit_harness) for kind in KINDS}
    yield made
    for db in made.values():
        schema_kit_harness.scratch.drop(db.name)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text, text
    assert code in (0, 1, 2), (argv, code, text)
    assert text.strip(), argv  # it always says something
    if code == 2:  # an error is one line naming the cause
        errors = [line for line in out.err.splitlines() if "error:" in line]
        assert len(errors) == 1, out.err
    return code, text


def test_every_subcommand_on_every_kind_of_database(
    databases: dict[str, Database], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    for kind, db in databases.items():
        for name, argv in (
            ("status", ["status", "--dsn", db.dsn]),
            ("status --json", ["status", "--dsn", db.dsn, "--json"]),
            ("audit", ["audit", "--dsn", db.dsn]),
            ("audit --json", ["audit", "--dsn", db.dsn, "--json"]),
            ("snapshot", ["snapshot", "--dsn", db.dsn, "-o", str(tmp_path / f"{kind}.json")]),
            ("diff", ["diff", str(tmp_path / f"{kind}.json"), db.dsn]),
            ("rollback", ["rollback", "--dsn", db.dsn, "--to", "base"]),
            ("migrate", ["migrate", "--dsn", db.dsn]),
        ):
            seen[(kind, name)] = _run(argv, capsys)
    # Someone else's bookkeeping is read, never crashed on, and named in the answer.
    code, text = seen[("foreign_bookkeeping", "status")]
    assert code == 1 and "no schema_kit bookkeeping" in text and "1.0.0, 2.0.0" in text
    code, text = seen[("foreign_bookkeeping", "audit")]
    assert "schema_migrations lists: 1.0.0, 2.0.0" in text and "version" in text
    # A psql-built chain: audit infers its version; migrate and rollback say how to adopt it.
    code, text = seen[("psql_built", "audit")]
    assert "version 3.0.0 inferred" in text, text
    for name in ("migrate", "rollback"):
        code, text = seen[("psql_built", name)]
        assert code == 2 and "--baseline VERSION" in text, text
    # A half-applied chain: tracked at 2.0.0, its extra object is catalog drift.
    code, text = seen[("half_applied", "audit")]
    assert code == 1 and "version 2.0.0" in text and "sync_tenant_from_workspace" in text
    # An empty database is simply migrated.
    assert seen[("empty", "migrate")][0] == 0


def test_baseline_adopts_a_psql_built_database_then_migrates_on(
    databases: dict[str, Database], capsys: pytest.CaptureFixture[str]
) -> None:
    dsn = databases["psql_built"].dsn
    code, text = _run(["migrate", "--dsn", dsn, "--baseline", "3.0.0"], capsys)
    assert code == 0 and "adopted" in text and "3.0.0" in text
    code, text = _run(["status", "--dsn", dsn], capsys)
    assert code == 0 and "3.1.0" in text and "pending" in text
    code, text = _run(["migrate", "--dsn", dsn], capsys)
    assert code == 0, text
    with psycopg.connect(dsn) as conn:
        rows: list[Any] = conn.execute(
            "SELECT version, description FROM schema_kit_migrations ORDER BY 1").fetchall()
    assert [r[0] for r in rows][:6] == ["1.0.0", "2.0.0", "2.1.0", "2.2.0", "3.0.0", "3.1.0"]
    assert rows[0][1].endswith("(baseline)") and not rows[5][1].endswith("(baseline)")
    # Twice is refused: the database is tracked now.
    code, text = _run(["migrate", "--dsn", dsn, "--baseline", "3.0.0"], capsys)
    assert code == 2 and "already records" in text


