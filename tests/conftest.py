"""Shared test helpers. Database fixtures come from the schema_kit plugin itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from schema_kit.config import OPTIONS, default_sql_dir, settings_from
from schema_kit.db.databases import Database
from schema_kit.db.harness import Harness

SqlDirFactory = Callable[[dict[str, str]], Path]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On another chain (``--schema-kit-sql-dir``), tests that pin ours are skipped, saying so:
    the contract's checks still run there, at that chain's head."""
    explicit = {o.name: config.getoption(o.ini, None) for o in OPTIONS}
    ini = {o.name: config.getini(o.ini) for o in OPTIONS}
    sql_dir = settings_from(explicit, ini).sql_dir
    if sql_dir.resolve() == default_sql_dir().resolve():
        return
    skip = pytest.mark.skip(reason=f"pins schema_kit's own chain; sql_dir {sql_dir} is another")
    for item in items:
        if item.get_closest_marker("our_chain"):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def db_at(request: pytest.FixtureRequest, schema_kit_harness: Harness) -> Iterator[Database]:
    """A database at ``request.param`` (parametrize indirectly), shared by a module's tests."""
    db = schema_kit_harness.templates.clone(request.param, purpose="mod")
    yield db
    schema_kit_harness.scratch.drop(db.name)


@pytest.fixture
def conn(db_at: Database) -> Iterator[psycopg.Connection[Any]]:
    """A connection to ``db_at``; tests leave it rolled back."""
    with db_at.connect() as conn:
        yield conn


@pytest.fixture
def make_sql_dir(tmp_path: Path) -> SqlDirFactory:
    """Write a migrations dir from ``{file name: text}`` and return the sql dir."""

    def make(files: dict[str, str]) -> Path:
        root = tmp_path / "sql"
        (root / "migrations").mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (root / "migrations" / name).write_text(text, encoding="utf-8")
        return root

    return make


TINY_CHAIN = {
    "1.0.0_things.up.sql": "-- create things\nCREATE TABLE things (id int PRIMARY KEY);\n",
    "1.0.0_things.down.sql": "-- drop things\nDROP TABLE things;\n",
    "1.1.0_label.up.sql": "-- add label\nALTER TABLE things ADD COLUMN label text;\n",
    "1.1.0_label.down.sql": "-- drop label\nALTER TABLE things DROP COLUMN label;\n",
}
