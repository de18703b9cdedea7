"""Backends behind one interface: ``provision(settings)`` yields a Server, then cleans up."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

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
def provision(settings: Settings, reuse_slot: str | None = None) -> Iterator[Server]:
    """A server for the run, removed at the end; with ``reuse_slot`` (the pytest plugin's
    worker id, when reuse is on) the slot's kept embedded server instead, where reuse applies
    and no live run owns that slot. Where it does not, a throw-away server whose ``note``
    says why, so a run never fails or waits for asking."""
    backend = choose_backend(settings)
    note = ""
    if reuse_slot is not None:
        from schema_kit.provision import reuse

        note = reuse.refusal(backend)
        if not note:
            with ExitStack() as stack:
                try:
                    server = stack.enter_context(reuse.reuse_embedded(settings, reuse_slot))
                except reuse.SlotBusy as busy:
                    note = f"reuse ignored: slot {reuse_slot} is owned by pid {busy.owner}"
                else:
                    yield server
                    return
    with _throwaway(settings, backend) as server:
        yield _noted(server, note)


def _noted(server: Server, note: str) -> Server:
    if not note:
        return server
    return dataclasses.replace(server, note=f"{server.note}, {note}" if server.note else note)


@contextmanager
def _throwaway(settings: Settings, backend: str) -> Iterator[Server]:
    from schema_kit.provision.storage import choose_storage

    if backend == "embedded":
        from schema_kit.provision.embedded import start_embedded

        storage = choose_storage(settings.storage)
        with start_embedded(storage.base) as server:
            yield _noted(server, storage.note)
    elif backend == "container":
        from schema_kit.provision.container import start_container

        storage = choose_storage(settings.storage)
        with start_container(settings, storage=storage.kind) as server:
            yield _noted(server, storage.note)
    else:
        from schema_kit.provision.dsn import use_dsn

        with use_dsn(settings.dsn) as server:
            yield server
