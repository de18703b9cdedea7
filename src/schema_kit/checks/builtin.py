"""The built-in checks, in the order ``verify`` runs them: the one registry everything uses.

Data checks first (judged after every generated write), then the checks that need a chain:
access, indexes, round trips, concurrency, migration safety (idle, then under load).
"""

from __future__ import annotations

from schema_kit.checks.access import ACCESS
from schema_kit.checks.concurrency import concurrency_check
from schema_kit.checks.invariants import (
    ACCEPTANCE,
    BAD_INPUT,
    EXTRACTION,
    ISOLATION,
    MEMBERSHIPS_KNOWN,
    PARTITIONS_DISJOINT,
    REGISTERED,
    REGISTRATION,
)
from schema_kit.checks.plans import INDEXES_SERVE
from schema_kit.checks.registry import Check, Registry
from schema_kit.checks.round_trips import INIT_EQUALS_CHAIN, ROUND_TRIP
from schema_kit.checks.safety import MIGRATION_SAFETY
from schema_kit.checks.schedules import concurrent_schedules_check
from schema_kit.checks.upgrade_load import upgrade_under_load_check

__all__ = ["REGISTRY"]


def _data_checks() -> list[Check]:
    return REGISTRY.over_writes()


REGISTRY = Registry((
    ACCEPTANCE,
    EXTRACTION,
    REGISTRATION,
    ISOLATION,
    BAD_INPUT,
    REGISTERED,
    PARTITIONS_DISJOINT,
    MEMBERSHIPS_KNOWN,
    ACCESS,
    INDEXES_SERVE,
    ROUND_TRIP,
    INIT_EQUALS_CHAIN,
    # Judges what the writers left by the data checks registered when it runs.
    concurrency_check(_data_checks),
    concurrent_schedules_check(_data_checks),
    MIGRATION_SAFETY,
    upgrade_under_load_check(_data_checks),
))
