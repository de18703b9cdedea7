"""The container backend: a throwaway PostgreSQL 16 + pgvector server in Docker.

testcontainers runs the container. Its reaper (Ryuk) is switched off because Ryuk's own image
has to be pulled, which fails where no registry is reachable; in exchange this module removes
its container on every way out of ``start_container``, KeyboardInterrupt included.
"""

from __future__ import annotations

import os

# testcontainers reads this on first use; set before anything can import it. setdefault, so a
# user with a reachable Ryuk can still opt back in to its crash-proof cleanup.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

import secrets  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from typing import Any  # noqa: E402

import docker  # noqa: E402
import docker.errors  # noqa: E402
from psycopg.conninfo import make_conninfo  # noqa: E402

from schema_kit.config import DEFAULT_IMAGE, LOCAL_IMAGE, Settings  # noqa: E402
from schema_kit.errors import ProvisionError  # noqa: E402
from schema_kit.provision.base import Server  # noqa: E402
from schema_kit.provision.image import (  # noqa: E402
    NO_DOCKER_REMEDY,
    build_local_image,
    connect_docker,
)

__all__ = ["docker_available", "resolve_image", "start_container"]

_PG_PORT = 5432
_READY_TIMEOUT_S = 60.0
# testcontainers polls readiness once a second by default; our image is ready in about a
# second, so a finer poll through its public wait-strategy API saves most of a second a start.
_READY_POLL_S = 0.2
_LABEL = "dev.schema-kit.backend"


def docker_available(timeout: float = 2.0) -> bool:
    """Whether a Docker daemon answers a ping within ``timeout`` seconds; never raises."""
    try:
        client = docker.from_env(timeout=timeout)
    except Exception:
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def resolve_image(settings: Settings) -> str:
    """The image to run: ``settings.image``, else pgvector's, else the locally built one.

    Without an explicit image the order is: DEFAULT_IMAGE present locally, LOCAL_IMAGE present
    locally, DEFAULT_IMAGE pulled, and finally LOCAL_IMAGE built from the pgserver wheel.
    """
    # Pulls stream for minutes on slow links; the SDK's timeout is per read, so keep it long.
    client = connect_docker(timeout=600.0)
    try:
        if settings.image:
            if _present(client, settings.image):
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
            if _present(client, tag):
                return tag
        failure = _try_pull(client, DEFAULT_IMAGE)
        if failure is None:
            return DEFAULT_IMAGE
    finally:
        client.close()
    _to_stderr(f"cannot pull {DEFAULT_IMAGE} ({failure}); building {LOCAL_IMAGE} instead")
    return build_local_image(LOCAL_IMAGE, progress=_to_stderr)


def _present(client: Any, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def _try_pull(client: Any, tag: str) -> str | None:
    """Pull ``tag``; None on success, else the daemon's one-line reason."""
    try:
        client.images.pull(tag)
    except (docker.errors.DockerException, OSError) as exc:
        return str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return None


def _to_stderr(message: str) -> None:
    print(f"schema-kit: {message}", file=sys.stderr, flush=True)


@contextmanager
def start_container(settings: Settings) -> Iterator[Server]:
    """Run PostgreSQL in a fresh container; yield it as a Server; always remove it afterwards.

    The DSN reaches the ``postgres`` maintenance database as the superuser ``postgres``.
    """
    if not docker_available():
        raise ProvisionError(
            f"backend 'container' needs a Docker daemon and none answers at "
            f"{os.environ.get('DOCKER_HOST') or 'unix:///var/run/docker.sock'}; {NO_DOCKER_REMEDY}"
        )
    image = resolve_image(settings)
    # Imported late: testcontainers is slow to import and only this backend needs it.
    from testcontainers.community.postgres import PostgresContainer
    from testcontainers.core.wait_strategies import ExecWaitStrategy

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
        labels={_LABEL: "container"},
    )
    # pg_isready against TCP is false while an entrypoint's socket-only init server runs, so
    # this only passes once the real server listens; the built-in psql check then passes at once.
    container.waiting_for(
        ExecWaitStrategy(["pg_isready", "--quiet", "--host", "127.0.0.1"])
        .with_poll_interval(_READY_POLL_S)
        .with_startup_timeout(_READY_TIMEOUT_S)
    )
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
        yield Server(backend="container", dsn=dsn, detail=f"{image} container {short_id}")
    finally:
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
        container.stop()  # force-removes the container and its volumes, closes the client
    except docker.errors.NotFound:
        pass  # someone removed it already: the goal is met
    except docker.errors.APIError:
        pass  # e.g. removal already in progress; the lookup by name below settles it
    try:
        client = docker.from_env()
    except docker.errors.DockerException as exc:
        raise ProvisionError(
            f"cannot reach Docker to remove container {name} ({exc}); "
            f"remove it with: docker rm -f {name}"
        ) from None
    try:
        client.containers.get(name).remove(force=True, v=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        raise ProvisionError(
            f"container {name} could not be removed ({exc}); remove it with: docker rm -f {name}"
        ) from None
    finally:
        client.close()
