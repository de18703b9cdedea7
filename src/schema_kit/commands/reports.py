"""The verification reports: ``report.md`` for reviewers, ``junit.xml`` for CI, ``report.json``."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schema_kit.checks.safety import to_markdown
from schema_kit.checks.schedules import NAME as SCHEDULES
from schema_kit.checks.upgrade_load import to_markdown as under_load_markdown
from schema_kit.commands import lint_locks
from schema_kit.commands.verify import Verification

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["SCHEDULES", "print_results", "write_reports"]


def _safety_dicts(verification: Verification) -> list[dict[str, Any]]:
    return [item.to_dict() for item in verification.safety]


def _json(verification: Verification) -> str:
    payload = {
        "holds": verification.holds,
        "backend": verification.backend,
        "server_version": verification.server_version,
        "sql_dir": verification.sql_dir,
        "head": verification.head,
        "profile": verification.profile,
        "chain": verification.chain,
        "shard": verification.shard,
        "units": verification.units,
        "elapsed_s": round(verification.elapsed_s, 2),
        "checks": [dataclasses.asdict(c) for c in verification.checks],
        "migration_safety": _safety_dicts(verification),
        # None when lint did not run (no safety measurement, or squawk missing: see checks).
        "lint": verification.lint.to_dict() if verification.lint else None,
        "upgrade_under_load": ([r.to_dict() for r in verification.under_load]
                               if verification.under_load
                               else None),
        **({"shards": verification.details["shards"]} if "shards" in verification.details
           else {}),
        # Transactions of the generated schedules, by how they ended (when that check ran).
        "schedule_outcomes": verification.details.get(SCHEDULES),
    }
    return json.dumps(payload, indent=2, default=str)


def _junit(verification: Verification) -> bytes:
    failures = sum(c.failed for c in verification.checks)
    suite = ET.Element(
        "testsuite",
        name="schema-kit verify",
        tests=str(len(verification.checks)),
        failures=str(failures),
        errors="0",
        time=f"{verification.elapsed_s:.3f}",
    )
    for check in verification.checks:
        case = ET.SubElement(
            suite, "testcase", classname=f"schema_kit.{check.kind}", name=check.name,
            time=f"{check.elapsed_s:.3f}",
        )
        if check.failed:
            failure = ET.SubElement(case, "failure", message=check.failure.splitlines()[0][:200]
                                    if check.failure else "failed")
            failure.text = check.failure + (f"\nreplay: {check.replay}" if check.replay else "")
        elif check.skipped:
            ET.SubElement(case, "skipped", message=check.skipped)
    text: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return text


def _markdown(verification: Verification) -> str:
    verdict = "HOLDS" if verification.holds else "FAILS"
    lines = [
        f"# schema-kit verify: {verdict}",
        "",
        f"- chain head: {verification.head} (sql dir `{verification.sql_dir}`)",
        f"- server: {verification.backend}, PostgreSQL {verification.server_version}",
        f"- Hypothesis profile: {verification.profile}; wall time {verification.elapsed_s:.1f} s",
        *([f"- shard {verification.shard} of the run's {len(verification.units)} units"]
          if verification.shard else []),
        *(f"- merged: shard {s['shard']} from `{s['report']}` ({s['backend']}, PostgreSQL "
          f"{s['server_version']}, {s['elapsed_s']:.1f} s)"
          for s in verification.details.get("shards", [])),
        "",
        "| check | kind | result | examples | rows | time (s) |",
        "|---|---|---|---:|---:|---:|",
    ]
    for c in verification.checks:
        mark = {"FAILS": "**FAILS**", "skipped": f"skipped: {c.skipped}"}.get(c.status, c.status)
        lines.append(
            f"| {c.name} | {c.kind} | {mark} | {c.examples} | {c.rows} | {c.elapsed_s:.2f} |"
        )
    for c in (c for c in verification.checks if c.failed):
        lines += ["", f"## {c.name}", ""]
        if c.contract:
            lines += [f"expected: {c.contract}", ""]
        if c.first_failure:
            lines += [f"First failing example: number {c.first_failure} of the run (1: the "
                      "first, e.g. replayed from the example database).", ""]
        lines += ["```", c.failure.strip(), "```"]
        if c.replay:
            lines += ["", f"Replay: `psql -v vector_dim=… -f {c.replay}` on a fresh database."]
    if verification.safety:
        lines += ["", "## Migration safety (measured while each up migration ran on data)", ""]
        lines.append(to_markdown(verification.safety))
    if verification.lint:
        lines += ["", "## Lint vs measured locks", "", lint_locks.to_markdown(verification.lint)]
    outcomes: dict[str, int] | None = verification.details.get(SCHEDULES)
    if outcomes:
        lines += ["", "## Concurrent schedules: transactions by how they ended", "",
                  "| ending | transactions |", "|---|---:|",
                  *(f"| {ending} | {count} |" for ending, count in sorted(outcomes.items()))]
    if verification.under_load:
        lines += ["", "## Upgrade under load (LightRAG writing and reading while it ran)", ""]
        lines += [under_load_markdown(result) for result in verification.under_load]
    return "\n".join(lines) + "\n"


def write_reports(verification: Verification, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in (
        ("report.json", _json(verification).encode()),
        ("junit.xml", _junit(verification)),
        ("report.md", _markdown(verification).encode()),
    ):
        path = directory / name
        path.write_bytes(content)
        written.append(path)
    return written


def print_results(console: Console, verification: Verification, paths: list[Path]) -> None:
    """The console's summary: one line a check (why it skipped, what failed), the verdict."""
    marks = {"holds": "[green]holds[/]", "FAILS": "[red bold]FAILS[/]"}
    for check in verification.checks:
        mark = marks.get(check.status, check.status)
        console.print(f"  {check.name:<40} {mark}  {check.elapsed_s:6.2f} s", highlight=False)
        if check.skipped:
            console.print(f"    why: {check.skipped}", highlight=False, markup=False)
        if check.failed:
            console.print(f"    expected: {check.contract}" if check.contract else "",
                          highlight=False, markup=False)
            if check.first_failure:
                console.print(f"    first failing example: number {check.first_failure}",
                              highlight=False, markup=False)
            for line in check.failure.strip().splitlines()[:8]:
                console.print(f"    {line}", highlight=False, markup=False)
    verdict = "every invariant holds" if verification.holds else "INVARIANTS FAIL"
    where = f", shard {verification.shard}" if verification.shard else ""
    console.print(f"{verdict} at {verification.head}{where} ({verification.elapsed_s:.1f} s); "
                  f"reports: {', '.join(str(p) for p in paths)}")
