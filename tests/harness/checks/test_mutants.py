"""Mutation self-test: every broken variant of the head chain is caught by its invariant.

The control (the unmutated head passes every detector, so a detector that always fires would
fail) is the head run in tests/harness/commands/test_verify.py. The last test proves that
pointing pytest's sql-dir
option at a mutant makes the suite fail on the right invariant.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from schema_kit.checks.scenario import DETECTORS, detect
from schema_kit.db.databases import Templates
from schema_kit.db.harness import Harness
from tests.harness.checks.corpus import CORPUS, Mutant
from tests.harness.children import child_env

ROOT = Path(__file__).resolve().parents[3]


def _templates(harness: Harness, sql_dir: Path) -> Templates:
    return Templates(harness.scratch, sql_dir, harness.params)


def test_corpus_covers_at_least_ten_mutants_and_every_detector() -> None:
    assert len(CORPUS) >= 10
    assert len({m.name for m in CORPUS}) == len(CORPUS)
    assert {m.caught_by for m in CORPUS} == set(DETECTORS)


@pytest.mark.parametrize("mutant", CORPUS, ids=lambda m: m.name)
def test_mutant_is_caught_by_the_invariant_it_breaks(
    mutant: Mutant, schema_kit_harness: Harness, tmp_path: Path
) -> None:
    templates = _templates(schema_kit_harness, mutant.build(tmp_path / "sql"))
    found = detect(mutant.caught_by, templates, "head", schema_kit_harness.settings.vector_dim)
    assert found, f"{mutant.name} was not caught by {mutant.caught_by}"


def test_pytest_with_sql_dir_at_a_mutant_fails_naming_the_invariant(tmp_path: Path) -> None:
    mutant = next(m for m in CORPUS if m.name == "split_part_on_the_wrong_part")
    sql_dir = mutant.build(tmp_path / "sql")
    env = child_env(SCHEMA_KIT_REPLAY_DIR=str(tmp_path / "replays"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", "-n", "0",
         f"--schema-kit-sql-dir={sql_dir}", "tests/schema/test_invariants.py",
         "-k", "extraction and head"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "invariant: extraction" in result.stdout
    assert list((tmp_path / "replays").glob("extraction-head-*.sql"))
