"""Backends behind one interface: ``provision(settings)`` yields a Server, then cleans up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from schema_kit.config import Settings
from schema_kit.provision.base import Server

__all__ = ["Server", "choose_backend", "provision"]


def choose_backend(settings: Settings) -> str:
    """Resolve ``auto``: a container where a Docker daemon answers, else the embedded server."""
    if settings.backend != "auto":
        return settings.backend
    from schema_kit.provision.docker import docker_available

    return "container" if docker_available() else "embedded"


@contextmanager
def provision(settings: Settings) -> Iterator[Server]:
    backend = choose_backend(settings)
    if backend == "embedded":
        from schema_kit.provision.embedded import start_embedded

        with start_embedded() as server:
            yield server
    elif backend == "container":
        from schema_kit.provision.container import start_container

        with start_container(settings) as server:
            yield server
    else:
        from schema_kit.provision.dsn import use_dsn

        with use_dsn(settings.dsn) as server:
            yield server
