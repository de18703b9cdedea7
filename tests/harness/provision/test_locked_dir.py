"""The lock the embedded server's user and the image build take: one process at a time, on a
directory itself, so nothing is left behind."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from schema_kit.provision.base import locked_dir


def _hold(lock_dir: str, out: str) -> None:
    with locked_dir(Path(lock_dir)):
        start = time.monotonic()
        time.sleep(0.3)
        Path(out).write_text(f"{start} {time.monotonic()}")


def test_two_processes_hold_it_one_after_the_other_and_leave_nothing(tmp_path: Path) -> None:
    lock_dir, outs = tmp_path / "locked", [tmp_path / "a", tmp_path / "b"]
    lock_dir.mkdir()
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_hold, args=(str(lock_dir), str(o))) for o in outs]
    for p in processes:
        p.start()
    for p in processes:
        p.join(30)
        assert p.exitcode == 0
    (a_start, a_end), (b_start, b_end) = (map(float, o.read_text().split()) for o in outs)
    assert a_end <= b_start or b_end <= a_start, "the two holders overlapped"
    assert list(lock_dir.iterdir()) == []


def test_a_directory_that_cannot_be_opened_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError), locked_dir(tmp_path / "absent"):
        pytest.fail("entered a lock on a directory that does not exist")
