"""The Docker daemon: is one there, a client that has answered, which images it holds.

Shared by the container backend and the image build, so neither imports the other for it.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import docker
import docker.errors

from schema_kit.errors import ProvisionError

__all__ = [
    "NO_DOCKER_REMEDY",
    "connect_docker",
    "docker_available",
    "docker_socket_problem",
    "image_present",
]

NO_DOCKER_REMEDY = "start dockerd (scripts/ci-docker.sh start) or use --backend embedded"


def docker_socket_problem() -> str | None:
    """Why the daemon's unix socket refuses connections, or None (also for tcp/ssh hosts).

    The docker SDK leaks its socket when the connect fails, which ``-W error`` turns into a
    ResourceWarning failure; probing with a socket we close ourselves keeps that path clean.
    """
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if not host.startswith("unix://"):
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2.0)
        try:
            probe.connect(host.removeprefix("unix://"))
        except OSError as exc:
            return f"cannot connect to {host}: {exc.strerror or exc}"
    return None


def connect_docker(timeout: float = 10.0) -> Any:
    """A docker SDK client that has answered a ping, or ProvisionError naming the remedy."""
    problem = docker_socket_problem()
    if problem:
        raise ProvisionError(f"no Docker daemon answers ({problem}); {NO_DOCKER_REMEDY}")
    try:
        client = docker.from_env(timeout=timeout)
    except docker.errors.DockerException as exc:
        raise ProvisionError(f"no Docker daemon answers ({exc}); {NO_DOCKER_REMEDY}") from None
    try:
        client.ping()
    except (docker.errors.DockerException, OSError) as exc:
        client.close()
        raise ProvisionError(f"no Docker daemon answers ({exc}); {NO_DOCKER_REMEDY}") from None
    return client


def image_present(client: Any, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def docker_available(timeout: float = 2.0) -> bool:
    """Whether a Docker daemon answers a ping within ``timeout`` seconds; never raises."""
    try:
        connect_docker(timeout).close()
    except Exception:
        return False
    return True
