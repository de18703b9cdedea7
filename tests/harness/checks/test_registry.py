"""One registry drives everything: a check added to it shows up in ``verify --list``, in
verify's run, in audit, in the pytest suite and in the mutation self-test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from schema_kit.checks import REGISTRY, Needs, Registry
from schema_kit.cli import main
from schema_kit.commands.audit import run_audit
from schema_kit.commands.verify import run_verification
from schema_kit.config import Settings
from schema_kit.db.harness import Harness
from tests.harness.checks.probe import PROBE, PROBE_ID
from tests.harness.children import child_env

ROOT = Path(__file__).resolve().parents[3]


def test_names_are_unique_and_lookups_name_the_known_checks() -> None:
    registry = Registry([PROBE])
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(PROBE)
    with pytest.raises(KeyError, match="the registry holds: probe_no_row_with_id_r1"):
        registry["nope"]
    assert REGISTRY.names() == sorted(set(REGISTRY.names()), key=REGISTRY.names().index)


def test_families_and_needs_partition_the_registry() -> None:
    data = {c.name for c in REGISTRY.data()}
    chain = {c.name for c in REGISTRY.chain()}
    assert data | chain == set(REGISTRY.names()) and not data & chain
    assert {c.name for c in REGISTRY.model_free()} == {
        c.name for c in REGISTRY if c.needs is Needs.DATABASE}
    # A covered check never runs twice after writes; its cover does.
    for check in REGISTRY.over_writes():
        assert not check.covered_by or check.covered_by not in REGISTRY
    assert all(c.covered_by in REGISTRY for c in REGISTRY if c.covered_by)


def test_verify_list_prints_every_check_with_family_and_contract(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with REGISTRY.extended(PROBE):
        assert main(["verify", "--list"]) == 0
    out = capsys.readouterr().out
    for check in (*REGISTRY, PROBE):
        line = next(line for line in out.splitlines() if line.startswith(check.name + " "))
        assert check.family in line and check.contract in line


@pytest.mark.e2e
def test_an_added_check_runs_in_verify_and_audit(
    schema_kit_harness: Harness, tmp_path: Path
) -> None:
    settings = Settings(backend=schema_kit_harness.settings.backend,
                        replay_dir=tmp_path / "replays")
    harness = Harness(settings, tag="reg", server=schema_kit_harness.server)
    try:
        with REGISTRY.extended(PROBE):
            verification = run_verification(harness, "ci", max_examples=1, shrink=False,
                                            select=[PROBE.name])
            db = harness.templates.clone("head", purpose="aud")
            with db.connect() as conn:
                conn.execute("INSERT INTO lightrag_doc_full (workspace, id) VALUES "
                             "('acme:kb', %s)", (PROBE_ID,))
                conn.commit()
            audit = run_audit(db.dsn, settings.sql_dir, harness.templates)
    finally:
        harness.close()
    probe = next(c for c in verification.checks if c.name == PROBE.name)
    assert not probe.holds and PROBE_ID in probe.failure  # the tour writes an 'r1' row
    assert not verification.holds
    assert [f.kind for f in audit.findings] == [PROBE.name]
    assert PROBE.name not in REGISTRY  # extended() undid itself


@pytest.mark.e2e
def test_an_added_check_runs_in_the_pytest_suite_and_the_mutation_self_test(
    tmp_path: Path,
) -> None:
    env = child_env(SCHEMA_KIT_REPLAY_DIR=str(tmp_path / "replays"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
         "-p", "tests.harness.checks.probe", "tests/schema/test_checks.py",
         "tests/harness/checks/test_mutants.py", "-k", "probe or every_registered_check"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    out = result.stdout
    assert result.returncode == 1, out[-3000:]
    # pytest: the probe's own test ran and failed on the tour's row.
    own = f"test_registered_check_holds_at_head[{PROBE.name}]"
    assert f"FAILED tests/schema/test_checks.py::{own}" in out
    # mutation self-test: the probe has neither a mutant nor a reason yet.
    assert "FAILED tests/harness/checks/test_mutants.py::test_every_registered_check_has" in out
    assert f"'{PROBE.name}'" in out
    assert "2 failed" in out
