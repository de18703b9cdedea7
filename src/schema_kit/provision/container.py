"""The container backend: a throwaway PostgreSQL 16 + pgvector server in Docker.

testcontainers runs the container. Its reaper (Ryuk) is switched off because Ryuk's own image
has to be pulled, which fails where no registry is reachable; in exchange this module removes
its container on every way out of ``start_container``, KeyboardInterrupt included.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

# Before testcontainers is imported, as it reads its settings from the environment. setdefault,
# so TESTCONTAINERS_RYUK_DISABLED=false opts back in to Ryuk where its image can be pulled.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

import docker
import docker.errors
from psycopg.conninfo import make_conninfo
from testcontainers.community.postgres import PostgresContainer
from testcontainers.core.waiting_utils import WaitStrategy, WaitStrategyTarget

from schema_kit.config import DEFAULT_IMAGE, LOCAL_IMAGE, Settings
from schema_kit.errors import ProvisionError
from schema_kit.provision import watchdog
from schema_kit.provision.base import Server, server_command
from schema_kit.provision.docker import (
    NO_DOCKER_REMEDY,
    connect_docker,
    docker_available,
    docker_socket_problem,
    image_present,
)
from schema_kit.provision.image import POSTGRES_UID, build_local_image

__all__ = ["OWNER_LABEL", "resolve_image", "start_container"]


_PG_PORT = 5432
_READY_TIMEOUT_S = 60
# testcontainers polls readiness once a second by default; our image is ready in about a
# second, so a finer poll through its public wait-strategy API saves most of a second a start.
_READY_POLL_S = 0.2
# Over TCP on purpose: an entrypoint's init-time server listens on the unix socket only, so
# this passes once the real server is up, for our image and for the official one alike.
_PG_ISREADY = ["pg_isready", "--quiet", "--host", "127.0.0.1"]
_LABEL = "dev.schema-kit.backend"
# Which process started the container: `docker ps --filter label=dev.schema-kit.owner-pid=N`
# finds what a given run left, without mistaking a parallel run's containers for it.
OWNER_LABEL = "dev.schema-kit.owner-pid"
_DEFAULT_PGDATA = "/var/lib/postgresql/data"
# initdb refuses a data dir it cannot chmod: the mount belongs to the postgres user of both
# images (uid 999), mode 0700 as initdb leaves it.
_TMPFS_OPTIONS = f"rw,uid={POSTGRES_UID},gid={POSTGRES_UID},mode=0700"


def resolve_image(settings: Settings) -> str:
    """The image to run: ``settings.image``, else pgvector's, else the locally built one.

    Without an explicit image the order is: DEFAULT_IMAGE present locally, LOCAL_IMAGE present
    locally, DEFAULT_IMAGE pulled, and finally LOCAL_IMAGE built from the pgserver wheel.
    """
    # Pulls stream for minutes on slow links; the SDK's timeout is per read, so keep it long.
    client = connect_docker(timeout=600.0)
    try:
        if settings.image:
            if image_present(client, settings.image):
                return settings.image
            failure = _try_pull(client, settings.image)
            if failure is None:
                return settings.image
            raise ProvisionError(
                f"image {settings.image!r} is not present locally and cannot be pulled "
                f"({failure}); pull or build it first, or unset the image option to use "
                f"{DEFAULT_IMAGE} or the locally built {LOCAL_IMAGE}"
            )
        for tag in (DEFAULT_IMAGE, LOCAL_IMAGE):
            if image_present(client, tag):
                return tag
        failure = _try_pull(client, DEFAULT_IMAGE)
        if failure is None:
            return DEFAULT_IMAGE
    finally:
        client.close()
    _to_stderr(f"cannot pull {DEFAULT_IMAGE} ({failure}); building {LOCAL_IMAGE} instead")
    return build_local_image(LOCAL_IMAGE, progress=_to_stderr)


def _try_pull(client: Any, tag: str) -> str | None:
    """Pull ``tag``; None on success, else the daemon's one-line reason."""
    try:
        client.images.pull(tag)
    except (docker.errors.DockerException, OSError) as exc:
        return str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return None


def _to_stderr(message: str) -> None:
    print(f"schema-kit: {message}", file=sys.stderr, flush=True)


class _PgReady(WaitStrategy):
    """pg_isready inside the container; fails at once when the container exits.

    testcontainers' exec strategy would keep polling an exited container until its timeout,
    turning a broken image into a minute of silence before the error.
    """

    def wait_until_ready(self, container: WaitStrategyTarget) -> None:
        wrapped = container.get_wrapped_container()
        deadline = time.monotonic() + self._startup_timeout
        while True:
            with suppress(docker.errors.APIError):  # exec fails on a container not running
                if wrapped.exec_run(_PG_ISREADY).exit_code == 0:
                    return
            wrapped.reload()
            if wrapped.status in ("exited", "dead"):
                code = wrapped.attrs.get("State", {}).get("ExitCode")
                raise RuntimeError(f"the container exited with code {code}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"pg_isready failed for {self._startup_timeout:.0f} s")
            time.sleep(self._poll_interval)


def _data_dir(image: str) -> str:
    """The image's PGDATA (its ENV), where a ram container mounts its tmpfs."""
    client = connect_docker()
    try:
        env = client.images.get(image).attrs.get("Config", {}).get("Env") or []
    except (docker.errors.DockerException, OSError):
        env = []
    finally:
        client.close()
    found = [e.split("=", 1)[1] for e in env if e.startswith("PGDATA=")]
    return found[0] if found else _DEFAULT_PGDATA


@contextmanager
def start_container(settings: Settings, storage: str = "disk") -> Iterator[Server]:
    """Run PostgreSQL in a fresh container; yield it as a Server; always remove it afterwards.

    The DSN reaches the ``postgres`` maintenance database as the superuser ``postgres``.
    ``storage`` ``ram``: the data dir is a tmpfs mount, owned by the image's postgres user
    (an entrypoint that runs as root chowns it anyway).
    """
    if not docker_available():
        host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        why = docker_socket_problem() or f"the one at {host} does not answer a ping"
        raise ProvisionError(
            f"backend 'container' needs a Docker daemon, but {why}; {NO_DOCKER_REMEDY}"
        )
    image = resolve_image(settings)
    # A unique name lets cleanup find the container even when an interrupt lands after the
    # daemon created it but before testcontainers recorded it.
    name = f"schema-kit-pg-{uuid.uuid4().hex[:12]}"
    # A random password: the port is published on every host interface for the run's duration.
    password = secrets.token_hex(16)
    container = PostgresContainer(
        image,
        username="postgres",
        password=password,
        dbname="postgres",
        driver=None,
        name=name,
        shm_size="256m",
        labels={_LABEL: "container", OWNER_LABEL: str(os.getpid())},
    )
    if storage == "ram":
        # testcontainers passes each value as the mount's options (with_tmpfs_mount takes a
        # size only); the owner and mode need to be among them.
        container.tmpfs[_data_dir(image)] = _TMPFS_OPTIONS
    # The entrypoint of both images runs its first argument `postgres` with these flags.
    container.with_command(server_command())
    container.waiting_for(
        _PgReady().with_poll_interval(_READY_POLL_S).with_startup_timeout(_READY_TIMEOUT_S)
    )
    guard = watchdog.spawn("--docker-rm", name)
    try:
        try:
            container.start()
            host = container.get_container_host_ip()
            port = container.get_exposed_port(_PG_PORT)
            short_id = container.get_wrapped_container().short_id
        except Exception as exc:
            raise ProvisionError(
                f"container {name} from {image} did not become ready: {_first_line(exc)}"
                f"{_log_tail(container)}; check the image is PostgreSQL 16 + pgvector (or "
                f"rebuild {LOCAL_IMAGE} with build_local_image(force=True)), "
                "or use --backend embedded"
            ) from exc
        dsn = make_conninfo(
            host=host, port=port, user="postgres", password=password, dbname="postgres"
        )
        yield Server(backend="container", dsn=dsn, detail=f"{image} container {short_id}",
                     storage=storage)
    finally:
        watchdog.stop(guard)
        _remove(container, name)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _log_tail(container: Any, lines: int = 5) -> str:
    try:
        stdout, stderr = container.get_logs()
    except Exception:
        return ""
    text = (stdout + stderr).decode(errors="replace").strip().splitlines()[-lines:]
    return " (container log: " + " | ".join(text) + ")" if text else ""


def _remove(container: Any, name: str) -> None:
    try:
        # Whatever goes wrong here (already gone, daemon hiccup), the lookup by name settles it.
        with suppress(Exception):
            container.stop()  # force-removes the container and its volumes
    finally:
        container.get_docker_client().client.close()  # stop() skips this when removal fails
        _remove_by_name(name)


def _remove_by_name(name: str) -> None:
    remedy = f"remove it with: docker rm -f {name}"
    try:
        client = connect_docker()
    except ProvisionError as exc:
        raise ProvisionError(f"cannot remove container {name}: {exc}; {remedy}") from None
    try:
        client.containers.get(name).remove(force=True, v=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        raise ProvisionError(f"container {name} could not be removed ({exc}); {remedy}") from None
    finally:
        client.close()
