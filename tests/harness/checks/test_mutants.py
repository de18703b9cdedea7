"""Mutation self-test: every broken variant of the head chain is caught by the registered check
it breaks, and every registered check is proven by a mutant or says why it cannot be.

The control (the unmutated head passes every check, so a check that always fires would fail)
is tests/schema/test_checks.py. The last test points pytest's sql-dir option at a mutant, as a
team points it at its own chain.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from schema_kit.checks import REGISTRY, Registry, detect
from schema_kit.db.databases import Templates
from schema_kit.db.harness import Harness
from tests.harness.checks.corpus import CORPUS, NOT_MUTATED, Mutant
from tests.harness.children import child_env

ROOT = Path(__file__).resolve().parents[3]


def unproven(registry: Registry) -> list[str]:
    """Registered checks that no mutant proves and no reason excuses."""
    caught = {name for m in CORPUS for name in m.caught_by}
    return [c.name for c in registry if c.name not in caught and c.name not in NOT_MUTATED]


def test_every_registered_check_has_a_mutant_or_a_reason() -> None:
    assert len(CORPUS) >= 10
    assert len({m.name for m in CORPUS}) == len(CORPUS)
    assert unproven(REGISTRY) == []
    # Every mutant names a check that exists, and no excuse outlives its check.
    assert {name for m in CORPUS for name in m.caught_by} <= set(REGISTRY.names())
    assert set(NOT_MUTATED) <= set(REGISTRY.names())


@pytest.mark.parametrize("mutant", CORPUS, ids=lambda m: m.name)
def test_mutant_is_caught_by_the_check_it_breaks(
    mutant: Mutant, schema_kit_harness: Harness, tmp_path: Path
) -> None:
    sql_dir = mutant.build(tmp_path / "sql")
    templates = Templates(schema_kit_harness.scratch, sql_dir, schema_kit_harness.params)
    for check in (REGISTRY[name] for name in mutant.caught_by):
        found = detect(check, templates, "head", schema_kit_harness.settings.vector_dim)
        assert found.rows, f"{mutant.name} was not caught by {check.name} ({check.contract})"


@pytest.mark.e2e
def test_pytest_on_another_chain_fails_on_its_defect_and_skips_what_pins_ours(
    tmp_path: Path,
) -> None:
    """A copy of our chain is another chain: its defect is a failure with its counterexample
    (never the seed's strict xfail), and the tests that pin our chain say why they skip."""
    mutant = next(m for m in CORPUS if m.name == "split_part_on_the_wrong_part")
    sql_dir = mutant.build(tmp_path / "sql")
    env = child_env(SCHEMA_KIT_REPLAY_DIR=str(tmp_path / "replays"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-ra", "-p", "no:cacheprovider", "-n", "0",
         f"--schema-kit-sql-dir={sql_dir}", "tests/schema/test_invariants.py",
         "tests/schema/test_schema_chain.py", "-k", "extraction or 19_seed_tables"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    out = result.stdout
    assert result.returncode == 1, out[-3000:]
    assert "FAILED tests/schema/test_invariants.py::test_check_holds_over_generated_batches" \
        "[extraction-head]" in out
    assert "invariant: extraction" in out and "XFAIL" not in out
    skipped = [line for line in out.splitlines() if line.startswith("SKIPPED")]
    assert any("extraction-seed-3.0.0" in line or "test_invariants.py" in line
               for line in skipped), out[-3000:]
    assert all("pins schema_kit's own chain" in line for line in skipped), skipped
    assert any("test_schema_chain.py" in line for line in skipped)
    # Every failing example Hypothesis ran wrote the one replay of (check, version).
    assert [p.name for p in (tmp_path / "replays").iterdir()] == ["extraction-head.sql"]
