"""Under pytest-xdist every worker runs its own server, and database names carry the worker id."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.children import child_env

# End to end: whole runs in processes of their own (see conftest.py).
pytestmark = pytest.mark.e2e


INNER = '''
import pytest


@pytest.mark.parametrize("n", range(4))
def test_worker_database(schema_kit_db, n):
    with open({out!r} + "/" + schema_kit_db.name, "w") as f:
        f.write(str(n))
'''


def test_workers_get_databases_of_their_own(tmp_path: Path) -> None:
    out = tmp_path / "names"
    out.mkdir()
    (tmp_path / "test_inner.py").write_text(INNER.format(out=str(out)))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
         "-c", os.devnull, f"--rootdir={tmp_path}", str(tmp_path / "test_inner.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=child_env(),
    )
    assert result.returncode == 0, result.stdout[-2000:]
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 4
    workers = {name.split("_")[3][:3] for name in names}  # schema_kit_db_<worker><pid>_<n>
    assert workers == {"gw0", "gw1"}, names
    # The controller starts no server; the summary names each worker's.
    for worker in ("gw0", "gw1"):
        assert f"schema_kit: {worker}: backend=" in result.stdout, result.stdout[-2000:]
