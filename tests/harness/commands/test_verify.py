"""schema-kit verify: holds at head, fails on a mutant naming the invariant, writes reports."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from schema_kit.checks import REGISTRY
from schema_kit.checks.deadlocks import INHERENT
from schema_kit.commands.reports import write_reports
from schema_kit.commands.verify import LINT, run_verification
from schema_kit.config import Settings
from schema_kit.db.harness import Harness
from schema_kit.db.migrations import discover
from tests.harness.checks.corpus import CORPUS
from tests.harness.children import child, child_tmpdir, containers, left_in, servers_under

# End to end: whole runs in processes of their own (see conftest.py).
pytestmark = pytest.mark.e2e




def _harness_on(server_harness: Harness, replays: Path, sql_dir: Path | None = None) -> Harness:
    settings = Settings(
        backend=server_harness.settings.backend,
        sql_dir=sql_dir or server_harness.settings.sql_dir,
        vector_dim=server_harness.settings.vector_dim,
        replay_dir=replays,
        upgrade_rows=server_harness.settings.upgrade_rows,
    )
    return Harness(settings, tag="vfy", server=server_harness.server)


def test_verify_holds_at_head_and_writes_three_reports(
    schema_kit_harness: Harness, tmp_path: Path
) -> None:
    harness = _harness_on(schema_kit_harness, tmp_path / "replays")
    try:
        verification = run_verification(harness, "ci", max_examples=2)
    finally:
        harness.close()
    failed = [(c.name, c.failure[:300]) for c in verification.checks if c.failed]
    assert failed == []
    statuses = {c.name: c.status for c in verification.checks}
    assert statuses.pop("migration_safety") == "reported"  # 2.0.0 rewrites: a measurement
    # squawk misses the ACCESS EXCLUSIVE 3.0.0 takes on knowledge_bases (dropping the legacy
    # tables that reference it): reported, never failing.
    assert statuses.pop(LINT) == "reported"
    # A measurement too (reported, never failing): at head every migration applies.
    assert statuses.pop("upgrade_under_load") in ("holds", "reported")
    # The plain upgrade, then the online one (3.1.0 has an online form, run by it).
    plain, online = verification.under_load
    assert (plain.start, plain.online, online.online) == ("3.0.0", False, True)
    assert [m.version for m in online.migrations] == [m.version for m in plain.migrations]
    assert plain.migrations[0].version == "3.1.0" and plain.reached == online.reached == "3.3.0"
    assert verification.lint is not None and [
        (d.version, d.table, d.kind) for d in verification.lint.disagreements] == [
        ("3.0.0", "knowledge_bases", "missed")]
    # On the way to head: 1.0.0 has no tenant columns; the seed's versions break the contract
    # (reported, not failing), the fix holds.
    below = [str(m.version) for m in discover(harness.settings.sql_dir)[:-1]]
    on_the_way = {v: statuses.pop(f"data checks at {v}") for v in below}
    assert on_the_way["1.0.0"] == "skipped" and on_the_way["3.1.0"] == "holds"
    assert on_the_way["3.0.0"] == "reported"
    seed = next(c for c in verification.checks if c.name == "data checks at 3.0.0")
    assert "extraction:" in seed.failure and "'a:b:c'" in seed.failure
    assert set(statuses.values()) == {"holds"}
    assert verification.holds
    names = [c.name for c in verification.checks]
    # Every registered check once on the chain, the data checks at each version on the way,
    # each property, the stateful workload.
    assert names == ["chain applies", *REGISTRY.names(), LINT,
                     *(f"data checks at {v}" for v in below),
                     *(f"{c.name} (property)" for c in REGISTRY.properties()),
                     "stateful workload (property)"]
    assert any(s.version == "2.0.0" and s.flags for s in verification.safety)
    paths = write_reports(verification, tmp_path / "report")
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["holds"] is True and len(report["checks"]) == len(verification.checks)
    suite = ET.parse(tmp_path / "report" / "junit.xml").getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests", "0")) == len(names)
    md = (tmp_path / "report" / "report.md").read_text()
    assert "# schema-kit verify: HOLDS" in md
    assert "## Upgrade under load (LightRAG writing and reading while it ran)" in md
    assert "| 3.1.0 Enforce the tenant contract | 1 |" in md
    assert [r["online"] for r in report["upgrade_under_load"]] == [False, True]
    assert report["upgrade_under_load"][1]["migrations"][0]["version"] == "3.1.0"
    assert "the online form of each migration that has one" in md
    assert len(paths) == 3
    # The generated schedules' transactions by how they ended, the inherent probe among them.
    outcomes = report["schedule_outcomes"]
    assert outcomes["committed"] > 0 and outcomes[INHERENT] >= 1
    assert f"| {INHERENT} | {outcomes[INHERENT]} |" in md


def test_verify_fails_on_a_mutant_naming_the_invariant_and_its_replay(
    schema_kit_harness: Harness, tmp_path: Path
) -> None:
    mutant = next(m for m in CORPUS if m.name == "split_part_on_the_wrong_part")
    harness = _harness_on(schema_kit_harness, tmp_path / "replays", mutant.build(tmp_path / "sql"))
    try:
        # One check is enough to prove the path from a failure to the report and the replay.
        verification = run_verification(harness, "ci", max_examples=5, shrink=False,
                                        select=["extraction"])
    finally:
        harness.close()
    assert not verification.holds
    by_name = {c.name: c for c in verification.checks}
    failed = by_name["extraction (property)"]
    assert not failed.holds and "invariant: extraction" in failed.failure
    assert Path(failed.replay).is_file() and Path(failed.replay).parent == tmp_path / "replays"
    assert not by_name["extraction"].holds  # the tour, too, and with the check's columns
    assert "oracle_tenant" in by_name["extraction"].failure
    write_reports(verification, tmp_path / "report")
    md = (tmp_path / "report" / "report.md").read_text()
    assert "# schema-kit verify: FAILS" in md and "## extraction (property)" in md


def test_ctrl_c_during_verify_leaves_nothing(tmp_path: Path) -> None:
    args = [sys.executable, "-m", "schema_kit.cli", "verify", "--profile", "dev",
            "--report", str(tmp_path / "report")]
    with child_tmpdir() as tmpdir:
        with child(args, tmpdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
            deadline = time.monotonic() + 120
            assert proc.stderr is not None
            seen = ""
            while time.monotonic() < deadline:
                line = proc.stderr.readline()
                seen += line
                if "invariant: extraction" in line or not line:
                    break
            assert "invariant: extraction" in seen, seen
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 130, err
            assert "interrupted" in err
        assert left_in(tmpdir) == []
        assert servers_under(tmpdir) == []
    assert containers(proc.pid) == []
