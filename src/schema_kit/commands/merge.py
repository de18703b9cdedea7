"""``schema-kit report-merge DIR...``: the reports of ``verify --shard K/N`` joined into one.

Each shard's ``report.json`` names its shard, the run's whole unit list and the chain's
digest. The merge refuses, naming the report dirs and the remedy: a dir without a report, a
report of a whole run, shards of different runs (another chain, head, profile, selection or
N), a shard given twice, a shard missing, a shard whose report lacks some of its units (a
run cut short). The merged verdict holds only if every unit holds in the shard that ran it
and every shard applied the chain.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from schema_kit.checks.safety import (
    MIGRATION_SAFETY,
    IndexBuild,
    LockHeld,
    MigrationSafety,
    Rewrite,
)
from schema_kit.checks.schedules import NAME as SCHEDULES
from schema_kit.commands.shards import PREREQUISITES, Shard
from schema_kit.commands.verify import UPGRADE_UNDER_LOAD, CheckResult, Verification
from schema_kit.errors import ConfigError
from schema_kit.workload.upgrade_load import UpgradeUnderLoad

__all__ = ["merge_reports"]

_REMEDY = "merge the report dirs of the N shards of one `schema-kit verify --shard K/N` run"
# What every shard of one run shares, and what to do when two differ.
_SAME = {
    "chain": "run every shard on the same chain (sql dir, --vector-dim, --vector-suffix)",
    "head": "run every shard on the same chain",
    "profile": "give every shard the same --profile",
    "units": "give every shard the same --check selection and the same N",
}


@dataclasses.dataclass(frozen=True)
class _Shard:
    directory: Path
    shard: Shard
    report: dict[str, Any]
    checks: list[CheckResult]


def _read(directory: Path) -> _Shard:
    path = directory / "report.json"
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        checks = [CheckResult(**c) for c in report["checks"]]
        shard_text = report["shard"]
        absent = [k for k in (*_SAME, "backend", "server_version", "sql_dir", "elapsed_s")
                  if k not in report]
        if absent:  # an older schema-kit's report, or another tool's
            raise KeyError(absent[0])
    except FileNotFoundError:
        raise ConfigError(f"{directory} has no report.json: {_REMEDY}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path} is not a report.json of this schema-kit ({type(exc).__name__}: {exc}); "
            f"{_REMEDY}"
        ) from None
    if not shard_text:
        raise ConfigError(f"{path} is the report of a whole run (verify without --shard); "
                          f"{_REMEDY}")
    return _Shard(directory, Shard.parse(shard_text), report, checks)


def _same_run(shards: Sequence[_Shard]) -> None:
    first = shards[0]
    for other in shards[1:]:
        if other.shard.count != first.shard.count:
            raise ConfigError(
                f"{first.directory} is shard {first.shard} but {other.directory} is shard "
                f"{other.shard}: shards of runs split in different N; {_REMEDY}"
            )
        for key, remedy in _SAME.items():
            if other.report[key] != first.report[key]:
                shown = {d.directory: str(d.report[key])[:60] for d in (first, other)}
                raise ConfigError(
                    f"{first.directory} and {other.directory} are shards of different runs: "
                    f"their {key} differs ({' vs '.join(shown.values())}); {remedy}"
                )


def _complete(shards: Sequence[_Shard]) -> None:
    seen: dict[int, Path] = {}
    for s in shards:
        if s.shard.index in seen:
            raise ConfigError(f"shard {s.shard} is given twice: {seen[s.shard.index]} and "
                              f"{s.directory}; {_REMEDY}")
        seen[s.shard.index] = s.directory
    count = shards[0].shard.count
    missing = [f"{k}/{count}" for k in range(1, count + 1) if k not in seen]
    if missing:
        given = ", ".join(f"{s.shard} from {s.directory}" for s in shards)
        raise ConfigError(f"shard {', '.join(missing)} missing (given: {given}); {_REMEDY}")
    for s in shards:
        names = {c.name for c in s.checks}
        if not _prerequisites_hold(s):
            continue  # a chain that did not apply ran no unit: the verdict fails anyway
        lacking = [u for u in s.shard.mine(s.report["units"]) if u not in names]
        if lacking:
            raise ConfigError(
                f"{s.directory} (shard {s.shard}) lacks {len(lacking)} of its units "
                f"({', '.join(lacking[:3])}{', …' if len(lacking) > 3 else ''}): the run was "
                "cut short; run that shard again"
            )


def _prerequisites_hold(shard: _Shard) -> bool:
    return all(c.holds for c in shard.checks if c.name in PREREQUISITES)


def _prerequisite(name: str, shards: Sequence[_Shard]) -> CheckResult:
    """One row for a step every shard ran: it holds where it held on every shard."""
    rows = [(s, c) for s in shards for c in s.checks if c.name == name]
    failed = [(s, c) for s, c in rows if not c.holds]
    merged = dataclasses.replace(rows[0][1], elapsed_s=max(c.elapsed_s for _, c in rows))
    if failed:
        shard, check = failed[0]
        merged = dataclasses.replace(check, failure=f"shard {shard.shard}: {check.failure}")
    return merged


def _safety(data: dict[str, Any]) -> MigrationSafety:
    return dataclasses.replace(
        MigrationSafety(**data), rewritten=tuple(Rewrite(**r) for r in data["rewritten"]),
        locks=tuple(LockHeld(**k) for k in data["locks"]),
        indexes=tuple(IndexBuild(**i) for i in data["indexes"]), flags=tuple(data["flags"]),
    )


def _joined(shards: Sequence[_Shard], key: str) -> str:
    return ", ".join(dict.fromkeys(str(s.report[key]) for s in shards))


def merge_reports(directories: Sequence[Path]) -> Verification:
    """The one verdict of the shards whose reports are in ``directories``."""
    if not directories:
        raise ConfigError(f"no report dir given; {_REMEDY}")
    shards = sorted((_read(Path(d)) for d in directories), key=lambda s: s.shard.index)
    _same_run(shards)
    _complete(shards)
    first = shards[0].report
    merged = Verification(
        _joined(shards, "backend"), _joined(shards, "server_version"),
        _joined(shards, "sql_dir"), first["head"], first["profile"], first["chain"], "",
        list(first["units"]),
        elapsed_s=max(float(s.report["elapsed_s"]) for s in shards),
    )
    merged.checks += [_prerequisite(n, shards) for n in PREREQUISITES]
    ran = {c.name: c for s in shards for c in s.checks if c.name not in PREREQUISITES}
    merged.checks += [ran[u] for u in merged.units if u in ran]
    safety = [m for s in shards for m in s.report.get("migration_safety", [])]
    if safety:
        merged.details[MIGRATION_SAFETY.name] = [_safety(m) for m in safety]
    # The schedules ran on one shard (one unit); their outcome counts travel with it.
    outcomes = [s.report["schedule_outcomes"] for s in shards
                if s.report.get("schedule_outcomes")]
    if outcomes:
        merged.details[SCHEDULES] = dict(sum(map(Counter, outcomes), Counter()))
    # One shard ran it (it is one unit).
    under_load = [s.report[UPGRADE_UNDER_LOAD] for s in shards if s.report.get(UPGRADE_UNDER_LOAD)]
    if under_load:
        found = under_load[0] if isinstance(under_load[0], list) else [under_load[0]]
        merged.details[UPGRADE_UNDER_LOAD] = tuple(UpgradeUnderLoad.from_dict(r) for r in found)
    merged.details["shards"] = [
        {"shard": str(s.shard), "report": str(s.directory), "backend": s.report["backend"],
         "server_version": s.report["server_version"], "elapsed_s": s.report["elapsed_s"]}
        for s in shards
    ]
    return merged
