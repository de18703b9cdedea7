"""The registry of named checks: what each one promises, what it needs, how to run it.

In the manner of pytest-alembic's built-in tests, every check is one object: a name, a
one-line contract (the "expected:" text of a failure), what it needs to run, and a function
returning violation rows (empty: it holds). ``verify``, ``audit``, the pytest suite and the
mutation self-test all iterate the same registry (``schema_kit.checks.REGISTRY``), so a check
added here runs everywhere at once.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from schema_kit.config import DEFAULT_UPGRADE_ROWS
from schema_kit.db.databases import Templates
from schema_kit.workload.oracle import Model

__all__ = [
    "ChainTarget",
    "Check",
    "DataTarget",
    "Found",
    "InvariantError",
    "Needs",
    "Registry",
]

Violation = tuple[Any, ...]


class Needs(enum.Enum):
    """What a check needs to run, from least to most."""

    DATABASE = "a live database only"  # model-free: audit runs these on any database
    MODEL = "a model of the writes"  # what the oracle expects after a known workload
    CHAIN = "a chain and a server"  # builds databases at any version of the sql dir


@dataclass(frozen=True)
class DataTarget:
    """A database as a data check sees it.

    ``model`` is None for a model-free run (audit): the expectations then come from the
    oracle applied to what is stored. ``workspaces`` are the workspaces written (the oracle
    judges these); None reads the distinct stored ones.
    """

    conn: psycopg.Connection[Any]
    tables: tuple[str, ...]
    model: Model | None = None
    workspaces: frozenset[str] | None = None
    refusals: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChainTarget:
    """A chain at a version, on a server the harness runs (templates clone it cheaply)."""

    templates: Templates
    version: str = "head"
    vector_dim: int = 1024
    replay_dir: Path | None = None  # where a check writes its replay files (None: none)
    upgrade_rows: int = DEFAULT_UPGRADE_ROWS  # the rows loaded before an upgrade under load


@dataclass
class Found:
    """What running a check found: its violation rows and how much it ran."""

    rows: list[Violation] = field(default_factory=list)
    examples: int = 0
    checked_rows: int = 0
    # Examples run until the first failing one, that one included (1: the very first, as
    # when it is replayed from the example database); 0 when none failed.
    first_failure: int = 0
    message: str = ""  # the failure as the console and report.md show it
    replay: str = ""  # path of the replay script, when one was written
    skipped: str = ""  # why it could not run here (then it neither holds nor fails)
    detail: Any = None  # a family's own measurement (migration safety's table)

    @property
    def holds(self) -> bool:
        return not self.rows and not self.skipped


@dataclass(frozen=True)
class Check:
    """One named check. Data checks (DATABASE, MODEL) give ``query``/``violations`` over a
    DataTarget; chain checks (CHAIN) give ``detect`` over a ChainTarget."""

    name: str
    family: str
    contract: str
    needs: Needs
    columns: tuple[str, ...] = ()
    violations: Callable[[DataTarget], list[Violation]] | None = None
    # The SQL the replay script ends with (data checks whose violations are one query).
    query: Callable[[DataTarget], Any] | None = None
    detect: Callable[[ChainTarget], Found] | None = None
    # Gets a Hypothesis property of its own (pytest and verify); the other data checks run
    # inside every property and the stateful workload.
    own_property: bool = False
    # A model-free part of another check: after generated writes only that one runs, since
    # it reports the same rows and more; audit (no model) runs this one.
    covered_by: str = ""
    # A measurement, reported but never failing verify (migration safety).
    gating: bool = True
    # Why the check cannot run against this database, or None (e.g. a missing table).
    skip_when: Callable[[psycopg.Connection[Any]], str | None] | None = None

    @property
    def is_data(self) -> bool:
        return self.needs is not Needs.CHAIN

    def run(self, target: DataTarget) -> list[Violation]:
        if self.violations is None:
            raise TypeError(f"check {self.name!r} needs {self.needs.value}, not a data target")
        return self.violations(target)


class Registry:
    """The checks in the order verify runs them; names are unique."""

    def __init__(self, checks: Sequence[Check] = ()) -> None:
        self._checks: dict[str, Check] = {}
        for check in checks:
            self.register(check)

    def register(self, check: Check) -> Check:
        if check.name in self._checks:
            raise ValueError(f"check name={check.name!r} is registered twice")
        self._checks[check.name] = check
        return check

    def __iter__(self) -> Iterator[Check]:
        return iter(list(self._checks.values()))

    def __len__(self) -> int:
        return len(self._checks)

    def __contains__(self, name: object) -> bool:
        return name in self._checks

    def __getitem__(self, name: str) -> Check:
        try:
            return self._checks[name]
        except KeyError:
            known = ", ".join(self._checks)
            raise KeyError(f"no check named {name!r}; the registry holds: {known}") from None

    def names(self) -> list[str]:
        return list(self._checks)

    def data(self) -> list[Check]:
        """Every check of a database's rows (DATABASE or MODEL)."""
        return [c for c in self if c.is_data]

    def over_writes(self) -> list[Check]:
        """What is judged after generated writes: the data checks, less those another
        registered check covers."""
        return [c for c in self.data() if c.covered_by not in self._checks]

    def model_free(self) -> list[Check]:
        """What audit runs on a live database."""
        return [c for c in self if c.needs is Needs.DATABASE]

    def properties(self) -> list[Check]:
        return [c for c in self if c.own_property]

    def chain(self) -> list[Check]:
        return [c for c in self if c.needs is Needs.CHAIN]

    @contextlib.contextmanager
    def extended(self, *checks: Check) -> Iterator[Registry]:
        """Register ``checks`` for the duration of a block (tests, plugins trying a check)."""
        for check in checks:
            self.register(check)
        try:
            yield self
        finally:
            for check in checks:
                self._checks.pop(check.name, None)


class InvariantError(AssertionError):
    """A check found violations. The message has sections: invariant, expected, found, replay."""

    def __init__(self, check: Check, version: str, rows: Sequence[Violation], replay: str):
        self.check, self.version, self.rows, self.replay = check, version, list(rows), replay
        super().__init__(
            f"invariant: {check.name} (schema version {version})\n"
            f"expected: {check.contract}\n"
            f"found: {describe_rows(check, self.rows)}\n"
            f"replay: {replay}"
        )


def describe_rows(check: Check, rows: Sequence[Violation], limit: int = 10) -> str:
    """``N violation(s):`` then the first rows, under the check's column names."""
    lines = [f"{len(rows)} violation(s):"]
    if check.columns:
        lines.append("  " + " | ".join(check.columns))
    lines += [f"  {' | '.join(repr(v) for v in row)}" for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"  … and {len(rows) - limit} more")
    return "\n".join(lines)
