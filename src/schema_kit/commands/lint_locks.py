"""Where the lint and the measured locks disagree: squawk's findings on each up script against
what ``migration_safety`` measured while that migration ran on data, per table and effect.

A **false alarm** is a lock, rewrite or index build a finding implies that was not measured
(e.g. ``changing-column-type`` on a ``varchar(n)`` widening, which PostgreSQL does without a
rewrite); a **missed** one was measured with no finding implying it (e.g. ``LOCK TABLE``,
``ADD COLUMN … serial``, or DDL run through ``EXECUTE`` in a DO block, which squawk cannot see).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from schema_kit.checks.registry import Found
from schema_kit.checks.safety import MigrationSafety
from schema_kit.commands.lint import LintFinding, LintResult, SquawkMissing, run_lint
from schema_kit.config import Settings

__all__ = ["EXPECTED", "Disagreement", "LintVsLocks", "compare", "detect", "to_markdown"]

AE, REWRITE, INDEX = "ACCESS EXCLUSIVE", "rewrite", "index build"
# What the statement each rule flags does to its table, in the three effects migration_safety
# measures (PostgreSQL 11+ lock levels as ALTER TABLE, CREATE INDEX and DROP INDEX document
# them). Why by statement, not by squawk's wording: ban-drop-column or renaming-column warn
# that clients break, yet their statement takes ACCESS EXCLUSIVE all the same, and the
# question is whether squawk flagged the statement that blocks at all. Left out on purpose:
# constraint-missing-not-valid flags a CHECK (ACCESS EXCLUSIVE) and a FOREIGN KEY (SHARE ROW
# EXCLUSIVE) alike, so it implies no one lock; adding-foreign-key-constraint's SHARE ROW
# EXCLUSIVE is none of the three; require-lock-timeout, prefer-robust-stmts, ban-drop-function
# and the other rules not listed say nothing about a table's lock.
EXPECTED: dict[str, frozenset[str]] = {
    # squawk flags only what rewrites from 11 on: a volatile DEFAULT, a STORED generated column.
    "adding-field-with-default": frozenset({AE, REWRITE}),
    "adding-required-field": frozenset({AE}),
    "adding-not-nullable-field": frozenset({AE}),  # SET NOT NULL scans under ACCESS EXCLUSIVE
    "adding-serial-primary-key-field": frozenset({AE, INDEX}),
    "disallowed-unique-constraint": frozenset({AE, INDEX}),
    # A binary-coercible change (varchar(n) to a longer n, or to text) rewrites nothing.
    "changing-column-type": frozenset({AE, REWRITE}),
    "require-concurrent-index-creation": frozenset({INDEX}),  # SHARE: blocks writes, not reads
    "require-concurrent-index-deletion": frozenset({AE}),
    "ban-drop-column": frozenset({AE}),
    "ban-drop-table": frozenset({AE}),
    "ban-drop-constraint": frozenset({AE}),
    "renaming-column": frozenset({AE}),
    "renaming-table": frozenset({AE}),
    "ban-alter-generated-expression": frozenset({AE, REWRITE}),
    "ban-drop-generated-expression": frozenset({AE}),
}
UNKNOWN_TABLE = "(table not read from the statement)"

_NAME = r'(?:"(?:[^"]|"")+"|[\w$]+)'
_QUALIFIED = rf"{_NAME}(?:\s*\.\s*{_NAME})?"
_ALTER = re.compile(rf"alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?({_QUALIFIED})", re.I)
_INDEX_ON = re.compile(rf"create\s+(?:unique\s+)?index\b.*?\bon\s+(?:only\s+)?({_QUALIFIED})",
                       re.I | re.S)
_DROP = re.compile(r"drop\s+(?:index|table)\s+(?:concurrently\s+)?(?:if\s+exists\s+)?(.*?)"
                   r"(?:\s+(?:cascade|restrict))?\s*;?\s*$", re.I | re.S)


def _unqualified(name: str) -> str:
    """The relation's name as the catalog spells it: unquoted names fold to lower case."""
    last: str = re.findall(_NAME, name)[-1]
    return last[1:-1].replace('""', '"') if last.startswith('"') else last.lower()


def _tables(statement: str, index_tables: dict[str, str]) -> list[str]:
    """The tables ``statement`` acts on (a dropped index stands for its table)."""
    if found := _ALTER.match(statement) or _INDEX_ON.match(statement):
        return [_unqualified(found[1])]
    if found := _DROP.match(statement):
        names = [_unqualified(n) for n in re.findall(_QUALIFIED, found[1])]
        return [index_tables.get(n, n) for n in names]
    return [UNKNOWN_TABLE]


def _measured(result: MigrationSafety) -> dict[tuple[str, str], str]:
    """(table, effect) -> what was measured, for the tables that existed before it ran."""
    seen = {(k.table, AE): f"ACCESS EXCLUSIVE held {k.held_s:.3f} s" for k in result.locks
            if k.mode == AE and not k.created and k.table and k.relation == k.table}
    seen |= {(w.table, REWRITE): f"rewritten ({w.reason}; {w.rows} rows)"
             for w in result.rewritten}
    for build in result.indexes:
        seen[(build.table, INDEX)] = f"{seen.get((build.table, INDEX), 'built')} {build.name}"
    return seen


@dataclass(frozen=True)
class Disagreement:
    version: str
    table: str
    effect: str  # ACCESS EXCLUSIVE, rewrite or index build
    kind: str  # "false alarm" (implied, not measured) or "missed" (measured, not implied)
    squawk: str  # the findings implying it, or what squawk said about the table otherwise
    measured: str


def _cite(findings: Sequence[LintFinding]) -> str:
    by_rule: dict[str, list[str]] = {}
    for f in findings:
        by_rule.setdefault(f.rule, []).append(str(f.line))
    name = findings[0].path.name if findings else ""
    return "; ".join(f"{rule} at {name}:{','.join(dict.fromkeys(lines))}"
                     for rule, lines in by_rule.items())


def compare(findings: Sequence[LintFinding],
            measured: Sequence[MigrationSafety]) -> list[Disagreement]:
    """Every disagreement, per measured (up) migration, table and effect."""
    found: list[Disagreement] = []
    for result in measured:
        index_tables = {k.relation: k.table for k in result.locks
                        if k.table and k.relation != k.table}
        implied: dict[tuple[str, str], list[LintFinding]] = {}
        said: dict[str, list[LintFinding]] = {}
        for finding in (f for f in findings if f.version == result.version
                        and f.direction == "up"):
            for table in _tables(finding.statement, index_tables):
                said.setdefault(table, []).append(finding)
                for effect in EXPECTED.get(finding.rule, ()):
                    implied.setdefault((table, effect), []).append(finding)
        seen = _measured(result)
        found += [Disagreement(result.version, table, effect, "false alarm",
                               _cite(implied[(table, effect)]), "not measured")
                  for table, effect in sorted(implied.keys() - seen.keys())]
        found += [Disagreement(result.version, table, effect, "missed",
                               _cite(said.get(table, [])) or "no finding on this table",
                               seen[(table, effect)])
                  for table, effect in sorted(seen.keys() - implied.keys())]
    return found


@dataclass
class LintVsLocks:
    """verify's lint section: what squawk found and where it disagrees with the measurement."""

    squawk: str
    config: str
    findings: int
    disagreements: list[Disagreement] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def detect(settings: Settings, measured: Sequence[MigrationSafety]) -> Found:
    """The lint section as verify records it: skipped (saying why) without squawk."""
    try:
        lint: LintResult = run_lint(settings)
    except SquawkMissing:
        return Found(skipped=SquawkMissing.short)
    disagreements = compare(lint.findings, measured)
    section = LintVsLocks(lint.squawk, str(lint.config), len(lint.findings), disagreements)
    return Found(rows=[(d.version, d.table, d.effect, d.kind) for d in disagreements],
                 examples=len(measured), message="\n".join(_lines(disagreements)),
                 detail=section)


def _lines(disagreements: Sequence[Disagreement]) -> Iterator[str]:
    for d in disagreements:
        yield f"{d.version} {d.table}: {d.kind}: {d.effect} (squawk: {d.squawk}; measured: " \
              f"{d.measured})"


def to_markdown(section: LintVsLocks) -> str:
    lines = [f"{section.squawk}, config `{section.config}`: {section.findings} finding(s) over "
             "the chain; below, where those on the up scripts disagree with what "
             "migration_safety measured (ACCESS EXCLUSIVE locks, table rewrites, index "
             "builds without CONCURRENTLY on tables that existed before the migration).", ""]
    if not section.disagreements:
        return "\n".join([*lines, "No disagreement: squawk implies exactly what was measured."])
    lines += ["| migration | table | effect | disagreement | squawk | measured |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {d.version} | {d.table} | {d.effect} | {d.kind} | {d.squawk} | {d.measured} |"
              for d in section.disagreements]
    return "\n".join(lines)
