"""Every registered check on our chain at head: the control of the mutation self-test.

A check that always fired would fail here; one that never fires fails its mutant in
tests/harness/checks/test_mutants.py.
"""

from __future__ import annotations

import pytest

from schema_kit.checks import REGISTRY, Check, detect
from schema_kit.db.harness import Harness


@pytest.mark.parametrize("check", list(REGISTRY), ids=lambda c: c.name)
def test_registered_check_holds_at_head(check: Check, schema_kit_harness: Harness) -> None:
    found = detect(check, schema_kit_harness.templates, "head",
                   schema_kit_harness.settings.vector_dim)
    assert not found.skipped, f"{check.name} skipped: {found.skipped}"
    if check.gating:
        assert found.rows == [], f"{check.name}: {check.contract}\n{found.rows[:10]}"
    else:  # a measurement: it measured something
        assert found.examples > 0 and found.detail is not None
