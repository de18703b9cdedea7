"""``schema-kit verify``: every invariant, round trip and plan check against a chain about to ship.

The checks are the library functions pytest's tests call (``properties``, ``scenario``,
``concurrency``, ``safety``), run with the ``thorough`` Hypothesis profile by default.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from schema_kit.checks.concurrency import run_writers
from schema_kit.checks.properties import run_batch_property, run_stateful
from schema_kit.checks.safety import MigrationSafety, measure_chain
from schema_kit.checks.scenario import DATA_INVARIANTS, DETECTORS, detect
from schema_kit.db.harness import Harness
from schema_kit.db.migrations import discover
from schema_kit.errors import MigrationError
from schema_kit.workload.profiles import STATEFUL_EXAMPLES

__all__ = ["CheckResult", "Verification", "run_verification"]


@dataclass
class CheckResult:
    """One named check: holds or not, how much it ran, and what to replay when it failed."""

    name: str
    kind: str
    holds: bool
    elapsed_s: float
    examples: int = 0
    rows: int = 0
    failure: str = ""
    replay: str = ""


@dataclass
class Verification:
    backend: str
    server_version: str
    sql_dir: str
    head: str
    profile: str
    checks: list[CheckResult] = field(default_factory=list)
    safety: list[MigrationSafety] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def holds(self) -> bool:
        return bool(self.checks) and all(c.holds for c in self.checks)


@contextmanager
def _timed(results: list[CheckResult], name: str, kind: str) -> Iterator[CheckResult]:
    result = CheckResult(name, kind, True, 0.0)
    start = time.perf_counter()
    try:
        yield result
    except MigrationError as exc:
        result.holds, result.failure = False, str(exc)
    result.elapsed_s = time.perf_counter() - start
    results.append(result)


def _detectors(verification: Verification, harness: Harness, say: Callable[[str], None]) -> None:
    dim = harness.settings.vector_dim
    for name in sorted(DETECTORS):
        say(f"scenario: {name}")
        with _timed(verification.checks, f"{name} (scenario)", "scenario") as result:
            found = detect(name, harness.templates, "head", dim)
            result.examples = 1
            if found:
                result.holds = False
                result.failure = "\n".join(str(f) for f in found[:20])


def _properties(
    verification: Verification, harness: Harness, say: Callable[[str], None],
    max_examples: int | None, shrink: bool,
) -> None:
    dim = harness.settings.vector_dim
    db = harness.templates.clone("head", purpose="verify")
    try:
        for name in DATA_INVARIANTS:
            say(f"property: {name}")
            with _timed(verification.checks, f"{name} (property)", "property") as result:
                found = run_batch_property(name, db, "head", dim, max_examples, shrink)
                result.holds, result.examples, result.rows = found.holds, found.examples, found.rows
                result.failure, result.replay = found.failure, found.replay
    finally:
        harness.scratch.drop(db.name)
    say("property: stateful LightRAG workload")
    with _timed(verification.checks, "stateful workload (property)", "property") as result:
        runs = max_examples or STATEFUL_EXAMPLES.get(verification.profile, 7)
        found = run_stateful(harness, "head", runs, shrink)
        result.holds, result.examples = found.holds, found.examples
        result.failure, result.replay = found.failure, found.replay


def _concurrency(verification: Verification, harness: Harness, say: Callable[[str], None]) -> None:
    say("concurrency: 8 writers")
    with _timed(verification.checks, "concurrent registration", "concurrency") as result:
        db = harness.templates.clone("head", purpose="conc")
        try:
            found = run_writers(db, "head", harness.settings.vector_dim)
        finally:
            harness.scratch.drop(db.name)
        result.holds, result.rows = found.holds, found.rows
        result.failure = "\n".join([*found.errors[:10], found.violation]).strip()


def _safety(verification: Verification, harness: Harness, say: Callable[[str], None]) -> None:
    say("migration safety")
    verification.safety = measure_chain(harness.templates)


def run_verification(
    harness: Harness, profile: str, say: Callable[[str], None] = lambda _: None,
    max_examples: int | None = None, shrink: bool = True,
) -> Verification:
    """Run everything; never raises for a failing invariant (the result says so).

    ``max_examples`` caps the Hypothesis examples below the profile's and ``shrink=False``
    reports the first failing example as found (tests use both to stay fast).
    """
    start = time.perf_counter()
    chain = discover(harness.settings.sql_dir)
    server = harness.server
    verification = Verification(
        server.backend, harness.server_version, str(harness.settings.sql_dir),
        str(chain[-1].version), profile,
    )
    say(f"chain 1 .. {verification.head} on {server.backend} PostgreSQL {harness.server_version}")
    with _timed(verification.checks, "chain applies", "migration"):
        harness.templates.template("head")
    if verification.checks[-1].holds:
        _detectors(verification, harness, say)
        _properties(verification, harness, say, max_examples, shrink)
        _concurrency(verification, harness, say)
        _safety(verification, harness, say)
    verification.elapsed_s = time.perf_counter() - start
    return verification
