"""The dsn backend: a server the user runs. The harness only creates and drops its own databases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from psycopg import sql

from schema_kit.connect import connect
from schema_kit.db.harness import Harness
from tests.harness.children import child_env

# End to end: whole runs in processes of their own (see conftest.py).
pytestmark = pytest.mark.e2e



INNER = '''
def test_uses_a_scratch_database(schema_kit_conn, schema_kit_server):
    assert schema_kit_server.backend == "dsn"
    schema_kit_conn.execute("INSERT INTO tenants (tenant_id, name) VALUES ('t', 't')")
    schema_kit_conn.commit()
'''


def test_dsn_backend_leaves_other_databases_untouched(
    schema_kit_harness: Harness, tmp_path: Path
) -> None:
    admin = schema_kit_harness.scratch.admin
    theirs = "someone_elses_app"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(theirs)))
    try:
        with connect(schema_kit_harness.scratch.dsn(theirs)) as conn:
            conn.execute("CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders VALUES (1)")
            conn.commit()
        before = {r[0] for r in admin.execute("SELECT datname FROM pg_database").fetchall()}
        (tmp_path / "test_inner.py").write_text(INNER)
        env = child_env(SCHEMA_KIT_BACKEND="dsn", SCHEMA_KIT_DB_PREFIX="sk_dsn_",
                   SCHEMA_KIT_DSN=schema_kit_harness.server.dsn)
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", os.devnull,
             f"--rootdir={tmp_path}", str(tmp_path / "test_inner.py")],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )
        assert result.returncode == 0, result.stdout[-2000:]
        after = {r[0] for r in admin.execute("SELECT datname FROM pg_database").fetchall()}
        assert after == before  # its scratch databases are gone, nothing else changed
        with connect(schema_kit_harness.scratch.dsn(theirs)) as conn:
            assert conn.execute("SELECT id FROM orders").fetchall() == [(1,)]
    finally:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(theirs)))
