"""The suite's phases side by side: what a per-test database costs.

A clone of the migrated head template on the server the harness runs (durability off, as
pytest-postgresql and testcontainers set-ups run theirs) next to the same clone on a server
with PostgreSQL's shipped settings (``fsync``, ``synchronous_commit``, ``full_page_writes``
on), and next to migrating an empty database to head, which is what a clone saves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from schema_kit.config import Settings
from schema_kit.connect import connect
from schema_kit.db.harness import Harness
from schema_kit.provision.base import durability
from schema_kit.provision.embedded import start_embedded

GROUP = "per-test database"


@pytest.fixture(scope="module")
def durable_harness(schema_kit_harness: Harness) -> Iterator[Harness]:
    """A second embedded server as a user runs it: the wheel's settings, durability on."""
    with start_embedded(durable=True) as server:
        settings = Settings(backend="dsn", dsn=server.dsn,
                            sql_dir=schema_kit_harness.settings.sql_dir)
        harness = Harness(settings, tag="durable")
        try:
            yield harness
        finally:
            harness.close()


def _clone(harness: Harness) -> Callable[[], None]:
    harness.templates.template("head")  # built once, outside the timing

    def clone_and_drop() -> None:
        harness.scratch.drop(harness.templates.clone("head", purpose="bench").name)

    return clone_and_drop


@pytest.mark.parametrize("server", ["throw-away (harness)", "durable (PostgreSQL defaults)"])
def test_clone_of_the_head_template(
    benchmark: Any, server: str, schema_kit_harness: Harness, request: pytest.FixtureRequest
) -> None:
    harness = (schema_kit_harness if server.startswith("throw-away")
               else request.getfixturevalue("durable_harness"))
    benchmark.group = GROUP
    benchmark.extra_info.update(durability(harness.scratch.admin))
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
