"""Every registered check at the chain's head: on our chain, the control of the mutation
self-test; on another (``--schema-kit-sql-dir``), the contract's verdict on that chain.

A check that always fired would fail here; one that never fires fails its mutant in
tests/harness/checks/test_mutants.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from schema_kit.checks import REGISTRY, Check, Found, detect
from schema_kit.checks.scenario import tour_findings
from schema_kit.config import default_sql_dir
from schema_kit.db.harness import Harness

_TOUR: dict[str, Found] = {}


def _found(check: Check, harness: Harness) -> Found:
    dim = harness.settings.vector_dim
    if not check.is_data:
        return detect(check, harness.templates, "head", dim,
                      replay_dir=harness.settings.replay_dir,
                      upgrade_rows=harness.settings.upgrade_rows)
    if check.name not in _TOUR:  # one tour (one clone) judges every data check
        _TOUR.update(tour_findings(REGISTRY.data(), harness.templates, "head", dim))
    return _TOUR[check.name]


@pytest.mark.parametrize("check", list(REGISTRY), ids=lambda c: c.name)
def test_registered_check_holds_at_head(check: Check, schema_kit_harness: Harness) -> None:
    found = _found(check, schema_kit_harness)
    ours = schema_kit_harness.settings.sql_dir.resolve() == default_sql_dir().resolve()
    if found.skipped and not ours:  # another chain may lack what a check needs (an init script)
        pytest.skip(f"{check.name} cannot run on this chain: {found.skipped}")
    assert not found.skipped, f"{check.name} skipped: {found.skipped}"
    if check.gating:
        rows: list[Any] = found.rows
        assert rows == [], f"{check.name}: {check.contract}\n{rows[:10]}"
    else:  # a measurement: it measured something
        assert found.examples > 0 and found.detail is not None
