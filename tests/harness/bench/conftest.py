"""Shared set-up for the benchmark-support tests: a head clone loaded with a small dataset."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from schema_kit.bench.datagen import Dataset, load
from schema_kit.db.harness import Harness


@contextmanager
def loaded_database(
    harness: Harness, dataset: Dataset, purpose: str
) -> Iterator[tuple[Dataset, psycopg.Connection[Any]]]:
    """A fresh head database holding ``dataset``; dropped afterwards."""
    db = harness.templates.clone("head", purpose=purpose)
    try:
        with db.connect() as conn:
            load(conn, dataset)
            yield dataset, conn
    finally:
        harness.scratch.drop(db.name)
