"""Concurrent writers introducing the same new tenants and kbs at once. Schedules interleaved
step by step (the opposite-order probe among them) are tests/schema/test_schedules.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from schema_kit.checks import REGISTRY
from schema_kit.checks.concurrency import run_writers
from schema_kit.db.databases import Database

# Counts, version names and object names of schema_kit's own chain.
pytestmark = pytest.mark.our_chain

Factory = Callable[..., Database]


def test_eight_writers_register_each_tenant_once_and_lose_nothing(
    schema_kit_db_factory: Factory,
) -> None:
    result = run_writers(
        schema_kit_db_factory("head"), "head", 1024, REGISTRY.over_writes(), writers=8, rounds=5
    )
    assert result.errors == []  # no deadlock (40P01), no unique violation (23505)
    assert result.violation == ""  # every row present, registered, partitioned as the oracle says
    assert (result.tenants, result.kbs) == (4 * 5, 12 * 5)  # each registered exactly once
    assert result.rows == 8 * 5 * 36
