"""The plugin with --schema-kit-reuse: each xdist worker keeps a server of its own, and the
next run's workers find theirs again (a real pytest, twice, under a reuse root of its own)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from schema_kit.provision.reuse import clean
from schema_kit.provision.slots import slots
from tests.conftest import TINY_CHAIN, SqlDirFactory
from tests.harness.children import child_env, nothing_kept, reuse_root

# End to end: whole runs in processes of their own (see conftest.py).
pytestmark = pytest.mark.e2e


INNER = '''
from pathlib import Path


def test_uses_the_server(schema_kit_harness, schema_kit_db, worker_id):
    data = Path(schema_kit_harness.server.detail)
    pid = (data / "postmaster.pid").read_text().split()[0]
    Path({out!r}, worker_id).write_text(pid)
'''


def test_the_plugin_keeps_one_server_per_worker(
    tmp_path: Path, make_sql_dir: SqlDirFactory
) -> None:
    with reuse_root() as root:
        _two_runs(root, tmp_path, make_sql_dir(dict(TINY_CHAIN)))


def _two_runs(root: Path, tmp_path: Path, sql_dir: Path) -> None:
    out = tmp_path / "pids"
    out.mkdir()
    (tmp_path / "test_inner.py").write_text(INNER.format(out=str(out)))
    # A tiny chain: the point is the servers, not the time it takes to migrate ours.
    env = {k: v for k, v in child_env(SCHEMA_KIT_BACKEND="embedded", SCHEMA_KIT_SQL_DIR=str(
        sql_dir), SCHEMA_KIT_REUSE_DIR=str(root)).items() if k != "CI"}
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-c", os.devnull,
            f"--rootdir={tmp_path}", "-n", "2", "--dist", "each", "--schema-kit-reuse",
            str(tmp_path / "test_inner.py")]

    def run() -> tuple[dict[str, str], str]:
        result = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return {p.name: p.read_text() for p in out.iterdir()}, result.stdout

    first, said = run()
    assert sorted(first) == ["gw0", "gw1"] and first["gw0"] != first["gw1"]
    assert said.count("reused (new") == 2, said
    second, said = run()
    assert second == first, "each worker found its own server again"
    assert said.count("reused (found running") == 2, said
    assert sorted(s.path.name for s in slots(root)) == ["gw0", "gw1"]
    assert len(clean(root).removed) == 2
    assert nothing_kept(root) == []
