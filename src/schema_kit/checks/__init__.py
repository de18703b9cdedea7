"""Step 5, check: one registry of named checks and the families it holds.

``REGISTRY`` lists every check (name, family, contract, needs); ``detect`` runs one on a
chain, ``assert_invariants_hold`` runs data checks over a write session, ``violations_in``
runs a model-free one on a live database. Families: data invariants, access, indexes/plans,
round trips, concurrency, migration safety.
"""

from __future__ import annotations

from schema_kit.checks.builtin import REGISTRY
from schema_kit.checks.registry import (
    ChainTarget,
    Check,
    DataTarget,
    Found,
    InvariantError,
    Needs,
    Registry,
)
from schema_kit.checks.runner import assert_invariants_hold, session_target, violations_in
from schema_kit.checks.scenario import detect

__all__ = [
    "REGISTRY",
    "ChainTarget",
    "Check",
    "DataTarget",
    "Found",
    "InvariantError",
    "Needs",
    "Registry",
    "assert_invariants_hold",
    "detect",
    "session_target",
    "violations_in",
]
