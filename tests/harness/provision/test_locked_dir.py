"""The lock the embedded server's user and the image build take: one process at a time, on a
directory itself, so nothing is left behind."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from schema_kit.provision.base import locked_dir
from tests.harness.provision.holders import one_after_the_other


def _hold(lock_dir: str, out: str) -> None:
    with locked_dir(Path(lock_dir)):
        start = time.monotonic()
        time.sleep(0.3)
        Path(out).write_text(f"{start} {time.monotonic()}")


def test_two_processes_hold_it_one_after_the_other_and_leave_nothing(tmp_path: Path) -> None:
    lock_dir = tmp_path / "locked"
    lock_dir.mkdir()
    assert one_after_the_other(_hold, lock_dir, tmp_path), "the two holders overlapped"
    assert list(lock_dir.iterdir()) == []


def test_a_directory_that_cannot_be_opened_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError), locked_dir(tmp_path / "absent"):
        pytest.fail("entered a lock on a directory that does not exist")
