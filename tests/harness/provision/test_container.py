"""The container backend against the real Docker daemon, or its error where there is none.

Each test checks what the machine offers: with a daemon it runs real containers and proves
they are gone afterwards; without one it proves the error names Docker and the way out.
"""

from __future__ import annotations

import re
from pathlib import Path

import docker
import docker.errors
import psycopg
import pytest

from schema_kit.config import Settings
from schema_kit.errors import ProvisionError
from schema_kit.provision.base import THROWAWAY_SETTINGS, Server, durability
from schema_kit.provision.container import resolve_image, start_container
from schema_kit.provision.docker import docker_available

SETTINGS = Settings(backend="container")


def _container_id(server: Server) -> str:
    match = re.search(r"container ([0-9a-f]{12})$", server.detail)
    assert match, f"no container id in detail {server.detail!r}"
    return match.group(1)


def _assert_gone(short_id: str) -> None:
    client = docker.from_env()
    try:
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(short_id)
    finally:
        client.close()


def _assert_names_docker_and_remedy(error: ProvisionError) -> None:
    message = str(error)
    assert "Docker" in message
    assert "--backend embedded" in message
    assert "scripts/ci-docker.sh start" in message


def test_container_serves_pg16_with_pgvector_and_is_removed_after() -> None:
    if not docker_available():
        with pytest.raises(ProvisionError) as excinfo, start_container(SETTINGS):
            pytest.fail("start_container yielded without a Docker daemon")
        _assert_names_docker_and_remedy(excinfo.value)
        return

    with start_container(SETTINGS) as server:
        assert server.backend == "container"
        short_id = _container_id(server)
        with psycopg.connect(server.dsn, autocommit=True, connect_timeout=10) as conn:
            row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
            assert row is not None and row[0] >= 160000
            row = conn.execute(
                "SELECT current_database(), rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
            assert row == ("postgres", True)
            conn.execute("CREATE EXTENSION vector")
            row = conn.execute("SELECT '[1,2,3]'::vector <-> '[1,2,5]'::vector").fetchone()
            assert row == (2.0,)
            # A throw-away server: no durability (the command line of either image).
            assert durability(conn) == dict.fromkeys(THROWAWAY_SETTINGS, "off")
    _assert_gone(short_id)


@pytest.mark.parametrize("storage", ["ram", "disk"])
def test_a_ram_container_keeps_its_data_dir_on_a_tmpfs(storage: str) -> None:
    if not docker_available():
        with pytest.raises(ProvisionError) as excinfo, start_container(SETTINGS, storage):
            pytest.fail("start_container yielded without a Docker daemon")
        _assert_names_docker_and_remedy(excinfo.value)
        return
    with start_container(SETTINGS, storage) as server:
        assert server.storage == storage
        with psycopg.connect(server.dsn, autocommit=True, connect_timeout=10) as conn:
            row = conn.execute("SHOW data_directory").fetchone()
        assert row is not None
        client = docker.from_env()
        try:
            attrs = client.containers.get(_container_id(server)).attrs
        finally:
            client.close()
        mounts = attrs["HostConfig"].get("Tmpfs") or {}
        # The data dir the server uses is the tmpfs mount, or (disk) no tmpfs at all.
        assert (row[0] in mounts) == (storage == "ram"), (row[0], mounts)
        if storage == "ram":
            assert "uid=999" in mounts[row[0]] and "mode=0700" in mounts[row[0]]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_exception_inside_with_still_removes_container(error: type[BaseException]) -> None:
    entered: list[str] = []
    if not docker_available():
        with pytest.raises(ProvisionError) as excinfo, start_container(SETTINGS) as server:
            entered.append(server.detail)
        assert entered == []
        _assert_names_docker_and_remedy(excinfo.value)
        return

    with pytest.raises(error, match="raised inside the with"), start_container(SETTINGS) as server:
        entered.append(_container_id(server))
        raise error("raised inside the with")
    assert len(entered) == 1
    _assert_gone(entered[0])


def test_unreachable_daemon_is_a_provision_error_naming_the_remedy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A real daemon address where nothing listens, so this branch runs on every machine.
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-daemon.sock")
    assert not docker_available()
    with pytest.raises(ProvisionError) as excinfo, start_container(SETTINGS):
        pytest.fail("start_container yielded without a Docker daemon")
    _assert_names_docker_and_remedy(excinfo.value)
    assert "no-daemon.sock" in str(excinfo.value)


def test_explicit_missing_image_is_a_provision_error_naming_the_tag() -> None:
    missing = "schema-kit/does-not-exist:never"
    with pytest.raises(ProvisionError) as excinfo:
        resolve_image(Settings(backend="container", image=missing))
    if docker_available():
        assert missing in str(excinfo.value)
        assert "pull or build it" in str(excinfo.value)
    else:
        _assert_names_docker_and_remedy(excinfo.value)
