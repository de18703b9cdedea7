"""Bad inputs are one-line errors with exit code 2; a killed migration leaves nothing half done."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable

import psycopg
import pytest
from psycopg import conninfo

from schema_kit.connect import connect
from schema_kit.db.databases import Database
from schema_kit.db.harness import Harness
from schema_kit.db.migrations import Migrator, discover
from schema_kit.errors import MigrationError
from schema_kit.inspect import take_snapshot
from tests.conftest import TINY_CHAIN, SqlDirFactory
from tests.harness.children import child_env

Factory = Callable[..., Database]


def _cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schema_kit.cli", *argv], capture_output=True, text=True,
        timeout=120, env=child_env(**(env or {})),
    )


def _one_line_exit_2(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_rollback_of_a_database_that_is_not_scratch_is_refused(
    schema_kit_harness: Harness,
) -> None:
    admin = schema_kit_harness.scratch.admin
    admin.execute("CREATE DATABASE not_a_scratch_db")
    try:
        dsn = schema_kit_harness.scratch.dsn("not_a_scratch_db")
        assert _cli("migrate", "--dsn", dsn, "--to", "2.0.0").returncode == 0
        _one_line_exit_2(_cli("rollback", "--dsn", dsn, "--to", "1.0.0"),
                         "is not a schema_kit scratch database")
        with connect(dsn) as conn:
            row = conn.execute("SELECT max(version) FROM schema_kit_migrations").fetchone()
            assert row == ("2.0.0",)
        assert _cli("rollback", "--dsn", dsn, "--to", "1.0.0", "--allow-data-loss").returncode == 0
    finally:
        admin.execute("DROP DATABASE not_a_scratch_db WITH (FORCE)")


def test_unknown_version_and_wrong_credentials(schema_kit_db_factory: Factory) -> None:
    db = schema_kit_db_factory(None)
    _one_line_exit_2(_cli("migrate", "--dsn", db.dsn, "--to", "9.9.9"), "unknown version 9.9.9")
    params = conninfo.conninfo_to_dict(db.dsn)
    if params.get("password"):  # a server with password authentication (the container)
        wrong = conninfo.make_conninfo(db.dsn, password="not-the-password")
        expected = "password authentication failed"
    else:  # trust authentication (embedded): an unknown role is the credential error there
        wrong = conninfo.make_conninfo(db.dsn, user="no_such_role")
        expected = 'role "no_such_role" does not exist'
    result = _cli("status", "--dsn", wrong)
    _one_line_exit_2(result, expected)
    assert "not-the-password" not in result.stderr


def test_container_backend_without_docker_is_a_clear_error(tmp_path: object) -> None:
    result = _cli("verify", "--backend", "container", "--profile", "dev", "--report",
                  str(tmp_path), env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    _one_line_exit_2(result, "Docker")
    assert "embedded" in result.stderr


def test_connection_killed_mid_migration_leaves_nothing_and_rerun_completes(
    schema_kit_db_factory: Factory, schema_kit_harness: Harness, make_sql_dir: SqlDirFactory
) -> None:
    files = dict(TINY_CHAIN)
    files["1.2.0_slow.up.sql"] = (
        "-- slow\nCREATE TABLE slow_one (id int);\nSELECT pg_sleep(1.5);\n"
        "ALTER TABLE things ADD COLUMN slow int;\n"
    )
    files["1.2.0_slow.down.sql"] = "DROP TABLE slow_one;\nALTER TABLE things DROP COLUMN slow;\n"
    sql_dir = make_sql_dir(files)
    db = schema_kit_db_factory(None)
    with db.connect() as conn:
        Migrator(conn, discover(sql_dir), {}).migrate("1.1.0")
        before = take_snapshot(conn)
    victim = psycopg.connect(db.dsn)
    pid = victim.info.backend_pid

    def kill() -> None:
        time.sleep(0.5)
        schema_kit_harness.scratch.admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    killer = threading.Thread(target=kill)
    killer.start()
    try:
        with pytest.raises(MigrationError, match=r"up 1\.2\.0 failed"):
            Migrator(victim, discover(sql_dir), {}).migrate()
    finally:
        killer.join()
        victim.close()
    with db.connect() as conn:
        assert take_snapshot(conn) == before
        migrator = Migrator(conn, discover(sql_dir), {})
        assert str(migrator.current()) == "1.1.0"
        migrator.migrate()
        assert str(migrator.current()) == "1.2.0"
