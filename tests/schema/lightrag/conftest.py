"""Fixtures of the LightRAG tests: scratch databases at any version and vector suffix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from schema_kit.db.databases import Database, Templates
from schema_kit.db.harness import Harness

DbFactory = Callable[[str, str], Database]


@pytest.fixture(scope="session")
def templates_by_suffix(schema_kit_harness: Harness) -> Callable[[str], Templates]:
    """One set of migrated templates per vector_suffix, on the session's server."""
    made: dict[str, Templates] = {}

    def get(suffix: str) -> Templates:
        if suffix not in made:
            params = {**schema_kit_harness.params, "vector_suffix": suffix}
            made[suffix] = Templates(schema_kit_harness.scratch,
                                     schema_kit_harness.settings.sql_dir, params)
        return made[suffix]

    return get


@pytest.fixture
def lightrag_db(
    schema_kit_harness: Harness, templates_by_suffix: Callable[[str], Templates]
) -> Iterator[DbFactory]:
    """``lightrag_db(version, vector_suffix)``: a fresh database, dropped after the test."""
    made: list[Database] = []

    def make(version: str, suffix: str) -> Database:
        db = templates_by_suffix(suffix).clone(version, purpose="lr")
        made.append(db)
        return db

    yield make
    for db in made:
        schema_kit_harness.scratch.drop(db.name)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """LightRAG's working directory: empty, so no config.ini or .env is read."""
    return tmp_path / "lightrag"
