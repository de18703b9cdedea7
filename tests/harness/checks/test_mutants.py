"""Mutation self-test: every broken variant of the head chain is caught by the registered check
it breaks, and every registered check is proven by a mutant or says why it cannot be.

The control (the unmutated head passes every check, so a check that always fires would fail)
is tests/schema/test_checks.py. The last test proves that pointing pytest's sql-dir option at
a mutant makes the suite fail on the right invariant.
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
    caught = {m.caught_by for m in CORPUS}
    return [c.name for c in registry if c.name not in caught and c.name not in NOT_MUTATED]


def test_every_registered_check_has_a_mutant_or_a_reason() -> None:
    assert len(CORPUS) >= 10
    assert len({m.name for m in CORPUS}) == len(CORPUS)
    assert unproven(REGISTRY) == []
    # Every mutant names a check that exists, and no excuse outlives its check.
    assert {m.caught_by for m in CORPUS} <= set(REGISTRY.names())
    assert set(NOT_MUTATED) <= set(REGISTRY.names())


@pytest.mark.parametrize("mutant", CORPUS, ids=lambda m: m.name)
def test_mutant_is_caught_by_the_check_it_breaks(
    mutant: Mutant, schema_kit_harness: Harness, tmp_path: Path
) -> None:
    sql_dir = mutant.build(tmp_path / "sql")
    templates = Templates(schema_kit_harness.scratch, sql_dir, schema_kit_harness.params)
    check = REGISTRY[mutant.caught_by]
    found = detect(check, templates, "head", schema_kit_harness.settings.vector_dim)
    assert found.rows, f"{mutant.name} was not caught by {check.name} ({check.contract})"


def test_pytest_with_sql_dir_at_a_mutant_fails_naming_the_invariant(tmp_path: Path) -> None:
    mutant = next(m for m in CORPUS if m.name == "split_part_on_the_wrong_part")
    sql_dir = mutant.build(tmp_path / "sql")
    env = child_env(SCHEMA_KIT_REPLAY_DIR=str(tmp_path / "replays"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", "-n", "0",
         f"--schema-kit-sql-dir={sql_dir}", "tests/schema/test_invariants.py",
         "-k", "extraction-head"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "invariant: extraction" in result.stdout
    # Every failing example Hypothesis ran wrote the one replay of (check, version).
    assert [p.name for p in (tmp_path / "replays").iterdir()] == ["extraction-head.sql"]
