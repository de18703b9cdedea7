"""The suite's phases side by side: what a server, a template and a per-test database cost.

A clone of the migrated head template on the server the harness runs for benchmarks
(durability off, data on disk: ``storage`` is ``disk`` in a benchmark run), the same clone on
a throw-away server whose data is in RAM (a tmpfs, as the suite's servers are by default),
and on a server with PostgreSQL's shipped settings (``fsync``, ``synchronous_commit``,
``full_page_writes`` on; on disk), next to migrating an empty database to head, which is
what a clone saves. Then a server start (start to first answered query) on disk, in RAM and
for a kept server found running (``--schema-kit-reuse``), and the head template built (an
empty database migrated to head and marked) vs found kept on a reused server.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from schema_kit.config import Settings
from schema_kit.connect import connect
from schema_kit.db.databases import ScratchDatabases, Templates
from schema_kit.db.harness import Harness
from schema_kit.provision.base import Server, durability
from schema_kit.provision.embedded import start_embedded
from schema_kit.provision.reuse import clean, reuse_embedded
from schema_kit.provision.storage import choose_storage

GROUP = "per-test database"


def _harness_on(server: Server, like: Harness, tag: str) -> Iterator[Harness]:
    settings = Settings(backend="dsn", dsn=server.dsn, sql_dir=like.settings.sql_dir)
    harness = Harness(settings, tag=tag)
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture(scope="module")
def durable_harness(schema_kit_harness: Harness) -> Iterator[Harness]:
    """A second embedded server as a user runs it: the wheel's settings, durability on."""
    with start_embedded(durable=True) as server:
        yield from _harness_on(server, schema_kit_harness, "durable")


@pytest.fixture(scope="module")
def ram_harness(schema_kit_harness: Harness) -> Iterator[Harness]:
    """A throw-away server (durability off) with its data in RAM, as the suite runs its own."""
    ram = choose_storage("ram")
    with start_embedded(ram.base) as server:
        yield from _harness_on(server, schema_kit_harness, "ram")


def _clone(harness: Harness) -> Callable[[], None]:
    harness.templates.template("head")  # built once, outside the timing

    def clone_and_drop() -> None:
        harness.scratch.drop(harness.templates.clone("head", purpose="bench").name)

    return clone_and_drop


CLONE_ON = {
    "throw-away, disk (harness)": None,
    "throw-away, ram": "ram_harness",
    "durable (PostgreSQL defaults), disk": "durable_harness",
}


@pytest.mark.parametrize("server", list(CLONE_ON))
def test_clone_of_the_head_template(
    benchmark: Any, server: str, schema_kit_harness: Harness, request: pytest.FixtureRequest
) -> None:
    fixture = CLONE_ON[server]
    harness = schema_kit_harness if fixture is None else request.getfixturevalue(fixture)
    benchmark.group = GROUP
    benchmark.extra_info.update(durability(harness.scratch.admin))
    benchmark.extra_info["storage"] = harness.server.storage or "disk"
    benchmark.pedantic(_clone(harness), rounds=10, iterations=1, warmup_rounds=1)


def test_migrate_an_empty_database_to_head(benchmark: Any, schema_kit_harness: Harness) -> None:
    templates = schema_kit_harness.templates
    benchmark.group = GROUP
    benchmark.extra_info.update(durability(schema_kit_harness.scratch.admin))

    def migrate_and_drop() -> None:
        db = templates.clone(None, purpose="bench")
        try:
            with connect(db.dsn) as conn:
                templates.migrator(conn).migrate("head")
        finally:
            schema_kit_harness.scratch.drop(db.name)

    benchmark.pedantic(migrate_and_drop, rounds=3, iterations=1)


START_GROUP = "server start (to the first answered query)"
TEMPLATE_GROUP = "head template"


@pytest.fixture(scope="module")
def reuse_settings(schema_kit_settings: Settings) -> Iterator[Settings]:
    """Reuse in a root of its own (never the user's cache), its servers stopped afterwards."""
    root = Path(tempfile.mkdtemp(prefix="skb-", dir="/tmp"))
    try:
        yield Settings(backend="embedded", reuse=True, reuse_dir=root,
                       sql_dir=schema_kit_settings.sql_dir)
    finally:
        try:
            clean(root)
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _answered(server: Server) -> None:
    with connect(server.dsn, autocommit=True) as conn:
        conn.execute("SELECT 1")


@pytest.mark.parametrize(
    "kind", ["throw-away, disk (temp dir)", "throw-away, ram (tmpfs)", "reused (found running)"])
def test_server_start(benchmark: Any, kind: str, request: pytest.FixtureRequest) -> None:
    """Each round starts a server and waits for its first answer; the teardown (outside the
    timing) stops a throw-away one and only releases a kept one. The warm-up round makes the
    kept server the rounds then find."""
    benchmark.group = START_GROUP
    running: list[AbstractContextManager[Server]] = []

    def start() -> None:
        if kind.startswith("reused"):
            manager = reuse_embedded(request.getfixturevalue("reuse_settings"), "bench")
        elif "ram" in kind:
            manager = start_embedded(choose_storage("ram").base)
        else:
            manager = start_embedded()
        running.append(manager)
        _answered(manager.__enter__())

    def stop(*_: object) -> None:
        running.pop().__exit__(None, None, None)

    benchmark.pedantic(start, teardown=stop, rounds=5, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("kind", ["built (migrate an empty db, mark)", "found (kept, reused)"])
def test_head_template(
    benchmark: Any, kind: str, schema_kit_harness: Harness, reuse_settings: Settings
) -> None:
    """The head template as a run gets it: a new Templates each round (no in-process cache),
    its key read from the sql dir; built on the harness's server (dropped in the teardown),
    or found by that key on a reused server where a run kept it."""
    benchmark.group = TEMPLATE_GROUP
    settings = schema_kit_harness.settings
    built = kind.startswith("built")
    with reuse_embedded(reuse_settings, "bench-tpl") as reused:
        server = schema_kit_harness.server if built else reused
        scratch = ScratchDatabases(server, settings.db_prefix, tag="tplbench")
        benchmark.extra_info.update(durability(scratch.admin))

        def get() -> str:
            return Templates(scratch, settings.sql_dir, settings.migration_params,
                             table=settings.migrations_table, keep=not built).template("head")

        def drop(*_: object) -> None:
            if built:
                scratch.close()

        try:
            benchmark.pedantic(get, teardown=drop, rounds=3, iterations=1, warmup_rounds=1)
        finally:
            scratch.close()
