"""``verify --shard K/N`` and ``report-merge``: every unit in exactly one shard, merges that
refuse what is not one run, and the same verdict sharded as whole, at head and on a mutant."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from schema_kit.checks import REGISTRY
from schema_kit.cli import main
from schema_kit.commands.merge import merge_reports
from schema_kit.commands.reports import SCHEDULES, write_reports
from schema_kit.commands.shards import Shard, chain_digest, units
from schema_kit.commands.verify import CheckResult, Verification, run_verification, selected
from schema_kit.config import Settings, default_sql_dir
from schema_kit.db.harness import Harness
from schema_kit.errors import ConfigError
from tests.harness.checks.corpus import CORPUS


@pytest.mark.parametrize("text", ["0/2", "3/2", "x", "1/0", "2", "-1/2", "1/2/3"])
def test_a_bad_shard_names_the_value_and_the_form(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        Shard.parse(text)
    assert f"--shard {text!r} must be K/N with 1 <= K <= N" in str(info.value)


def test_every_unit_is_in_exactly_one_shard_and_a_propertys_seeds_spread() -> None:
    below = ["1.0.0", "2.0.0"]
    for count in (1, 2, 3, 5):
        every = units(REGISTRY, below, count)
        shards = [Shard(k, count).mine(every) for k in range(1, count + 1)]
        assert sorted(u for s in shards for u in s) == sorted(every)
        assert len(set(every)) == len(every)
        assert max(map(len, shards)) - min(map(len, shards)) <= 1  # dealt round-robin
        for check in REGISTRY.properties():
            seeds = [u for u in every if u.startswith(f"{check.name} (property")]
            assert len(seeds) == count
            owners = {k for k, s in enumerate(shards) for u in s if u in seeds}
            assert len(owners) == count, (check.name, count)  # one seed on every machine
    assert units(REGISTRY, below, 1)[-1] == "stateful workload (property)"
    assert "extraction (property, seed 2/3)" in units(REGISTRY, below, 3)
    assert Shard(2, 3).mine(units(REGISTRY, below, 3)) == Shard(2, 3).mine(
        units(REGISTRY, below, 3))


def test_the_chain_digest_is_the_chains_not_its_path(tmp_path: Path) -> None:
    import shutil

    copy = shutil.copytree(default_sql_dir(), tmp_path / "checkout")
    params: dict[str, int | str] = {"vector_dim": 1024, "vector_suffix": ""}
    assert chain_digest(copy, params) == chain_digest(default_sql_dir(), params)
    assert chain_digest(copy, {**params, "vector_dim": 8}) != chain_digest(copy, params)
    mutant = CORPUS[0].build(tmp_path / "mutant")
    assert chain_digest(mutant, params) != chain_digest(copy, params)


def _shard_report(directory: Path, shard: str, every: list[str], chain: str = "c1",
                  holds: bool = True) -> Path:
    """A shard's report as verify writes it, without running anything."""
    verification = Verification("embedded", "18.6", "/sql", "3.2.0", "ci", chain, shard,
                                every, elapsed_s=1.0)
    verification.checks.append(CheckResult("chain applies", "migration", True, 0.1, 1))
    mine = Shard.parse(shard).mine(every) if shard else every
    verification.checks += [CheckResult(u, "scenario", holds, 0.1, 1) for u in mine]
    if "a" in mine:  # the shard that ran the schedules reports how their transactions ended
        verification.details[SCHEDULES] = {"committed": 7, "rolled back": 2}
    write_reports(verification, directory)
    return directory


def test_merge_joins_the_shards_into_one_verdict(tmp_path: Path) -> None:
    every = ["a", "b", "c", "d", "e"]
    dirs = [_shard_report(tmp_path / f"s{k}", f"{k}/3", every) for k in (3, 1, 2)]
    merged = merge_reports(dirs)
    assert merged.holds and merged.shard == ""
    assert [c.name for c in merged.checks] == ["chain applies", *every]
    assert [s["shard"] for s in merged.details["shards"]] == ["1/3", "2/3", "3/3"]
    out = tmp_path / "merged"
    assert main(["report-merge", *map(str, dirs), "--report", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["holds"] is True and report["units"] == every
    assert len(report["shards"]) == 3
    assert report["schedule_outcomes"] == {"committed": 7, "rolled back": 2}
    assert ET.parse(out / "junit.xml").getroot().get("tests") == str(len(every) + 1)
    assert "merged: shard 2/3 from" in (out / "report.md").read_text()
    # One failing unit on one shard fails the whole verdict.
    _shard_report(tmp_path / "s2", "2/3", every, holds=False)
    assert main(["report-merge", *map(str, dirs), "--report", str(out)]) == 1
    failed = [c["name"] for c in json.loads((out / "report.json").read_text())["checks"]
              if not c["holds"]]
    assert failed == Shard(2, 3).mine(every)


def test_merge_refuses_what_is_not_one_whole_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    every = ["a", "b", "c"]
    one, two = _shard_report(tmp_path / "one", "1/2", every), tmp_path / "two"
    cases = [
        ([one], "shard 2/2 missing (given: 1/2 from"),
        ([one, _shard_report(tmp_path / "again", "1/2", every)], "shard 1/2 is given twice"),
        ([one, _shard_report(two, "2/2", every, chain="c2")],
         "are shards of different runs: their chain differs (c1 vs c2); run every shard on "
         "the same chain"),
        ([one, _shard_report(tmp_path / "three", "2/3", every)],
         "shards of runs split in different N"),
        ([one, _shard_report(tmp_path / "whole", "", every)], "is the report of a whole run"),
        ([one, tmp_path / "nowhere"], "has no report.json"),
    ]
    for dirs, message in cases:
        with pytest.raises(ConfigError) as info:
            merge_reports(dirs)
        assert message in str(info.value)
    cut = _shard_report(tmp_path / "cut", "2/2", every)
    report = json.loads((cut / "report.json").read_text())
    report["checks"] = report["checks"][:1]  # the run stopped after the chain applied
    (cut / "report.json").write_text(json.dumps(report))
    with pytest.raises(ConfigError, match=r"lacks 1 of its units \(b\): the run was cut short"):
        merge_reports([one, cut])
    assert main(["report-merge", str(one), "--report", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("schema-kit report-merge: error: shard 2/2 missing")
    assert "Traceback" not in err


def _verdict(verification: Verification) -> dict[str, str]:
    """Status by check: a property's seeds (random) count as one, failing if any does."""
    statuses: dict[str, str] = {}
    for check in verification.checks:
        name = check.name.split(" (property")[0] + (" (property)" if "(property" in check.name
                                                    else "")
        if statuses.get(name) != "FAILS":
            statuses[name] = check.status
    return statuses


@pytest.mark.e2e
@pytest.mark.parametrize("mutant", [None, "split_part_on_the_wrong_part"])
def test_sharded_and_merged_gives_the_verdict_of_a_whole_run(
    mutant: str | None, schema_kit_harness: Harness, tmp_path: Path
) -> None:
    base = schema_kit_harness.settings
    sql_dir = base.sql_dir
    if mutant is not None:
        sql_dir = next(m for m in CORPUS if m.name == mutant).build(tmp_path / "sql")
    settings = Settings(backend=base.backend, sql_dir=sql_dir, vector_dim=base.vector_dim,
                        replay_dir=tmp_path / "replays")
    harness = Harness(settings, tag="shd", server=schema_kit_harness.server)
    # A data check with its property (and the stateful workload) and a chain check.
    select = ["extraction", "access"]
    try:
        whole = run_verification(harness, "dev", max_examples=1, shrink=False, select=select)
        dirs = []
        for k in (1, 2):
            shard = run_verification(harness, "dev", max_examples=1, shrink=False,
                                     select=select, shard=Shard(k, 2))
            dirs.append(tmp_path / f"shard{k}")
            write_reports(shard, dirs[-1])
    finally:
        harness.close()
    merged = merge_reports(dirs)
    assert merged.holds is whole.holds is (mutant is None)
    assert merged.units == units(selected(REGISTRY, select), [], 2)
    assert [c.name for c in merged.checks] == ["chain applies", *merged.units]
    ours, theirs = _verdict(merged), _verdict(whole)
    if mutant is not None:  # how soon a property finds it is chance; the tour's is not
        assert ours.pop("extraction") == theirs.pop("extraction") == "FAILS"
        for name in ("extraction (property)", "stateful workload (property)"):
            ours.pop(name), theirs.pop(name)
    assert ours == theirs
