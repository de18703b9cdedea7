"""``schema-kit verify``: every registered check against a chain about to ship.

The checks are the registry's (``schema_kit.checks.REGISTRY``), run the way pytest's tests
run them: each one on the chain at head (data checks over a deterministic tour of the
contract's edges), the Hypothesis properties and the stateful workload with the ``thorough``
profile by default. ``shard`` runs one share of those units (``commands.shards``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import psycopg

from schema_kit.checks import REGISTRY, Check, Found, Registry, detect
from schema_kit.checks.properties import run_batch_property, run_stateful
from schema_kit.checks.registry import describe_rows
from schema_kit.checks.safety import MIGRATION_SAFETY, MigrationSafety
from schema_kit.checks.scenario import tour_findings
from schema_kit.commands import lint_locks
from schema_kit.commands.shards import (
    STATEFUL,
    Shard,
    chain_digest,
    property_unit,
    seed_examples,
    units,
)
from schema_kit.config import Settings
from schema_kit.db.harness import Harness
from schema_kit.db.migrations import discover
from schema_kit.errors import ConfigError, MigrationError, SchemaKitError
from schema_kit.workload.profiles import hypothesis_settings, profile_chosen
from schema_kit.workload.upgrade_load import UpgradeUnderLoad

__all__ = ["LINT", "UPGRADE_UNDER_LOAD", "CheckResult", "Verification", "list_checks",
           "run_verification", "selected"]

LINT = "lint vs measured locks"
UPGRADE_UNDER_LOAD = "upgrade_under_load"  # the registered check's name


@dataclass
class CheckResult:
    """One run of a check: holds, fails or skipped, how much it ran, what to replay."""

    name: str
    kind: str
    holds: bool
    elapsed_s: float
    examples: int = 0
    rows: int = 0
    first_failure: int = 0  # examples run until the first failing one (1: the first)
    failure: str = ""
    replay: str = ""
    contract: str = ""
    skipped: str = ""
    gating: bool = True

    @property
    def status(self) -> str:
        """holds, FAILS, skipped (it could not run here) or reported (a measurement)."""
        if self.skipped:
            return "skipped"
        if self.holds:
            return "holds"
        return "FAILS" if self.gating else "reported"

    @property
    def failed(self) -> bool:
        return self.status == "FAILS"


@dataclass
class Verification:
    backend: str
    server_version: str
    sql_dir: str
    head: str
    profile: str
    chain: str = ""  # the chain's digest (commands.shards.chain_digest)
    shard: str = ""  # "K/N", or "" for a whole run
    units: list[str] = field(default_factory=list)  # every unit of the whole run
    checks: list[CheckResult] = field(default_factory=list)
    # A check's own measurement, by check name (migration safety's per-migration table).
    details: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def safety(self) -> list[MigrationSafety]:
        return list(self.details.get(MIGRATION_SAFETY.name, []))

    @property
    def under_load(self) -> tuple[UpgradeUnderLoad, ...]:
        """The plain upgrade, then the online one where the chain has online forms."""
        found = self.details.get(UPGRADE_UNDER_LOAD, ())
        return tuple(r for r in found if isinstance(r, UpgradeUnderLoad))

    @property
    def lint(self) -> lint_locks.LintVsLocks | None:
        found: lint_locks.LintVsLocks | None = self.details.get(LINT)
        return found

    @property
    def holds(self) -> bool:
        return bool(self.checks) and not any(c.failed for c in self.checks)


def list_checks(registry: Registry = REGISTRY) -> str:
    """The registry as a table: name, family, what it needs, its contract."""
    rows = [(c.name, c.family, c.needs.value, c.contract) for c in registry]
    widths = [max(len(r[i]) for r in [("check", "family", "needs", ""), *rows]) for i in range(3)]
    lines = [f"{'check':<{widths[0]}}  {'family':<{widths[1]}}  {'needs':<{widths[2]}}  contract"]
    lines += [f"{n:<{widths[0]}}  {f:<{widths[1]}}  {d:<{widths[2]}}  {c}" for n, f, d, c in rows]
    return "\n".join(lines)


def selected(registry: Registry, names: Sequence[str]) -> Registry:
    """The checks named in ``names`` (all of them when empty), in registry order."""
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise ConfigError(
            f"check={unknown[0]!r} is not registered; `schema-kit verify --list` shows the "
            f"checks: {', '.join(registry.names())}"
        )
    return Registry([c for c in registry if not names or c.name in names])


def _run(verification: Verification, name: str, kind: str, check: Check | None,
         run: Callable[[], Found]) -> Found:
    """Run one check and record it."""
    start = time.perf_counter()
    try:
        found = run()
    except MigrationError as exc:
        found = Found(rows=[("migration failed", str(exc))], message=str(exc))
    except psycopg.Error as exc:  # a chain the check's set-up does not fit: say so, go on
        first = (exc.diag.message_primary or str(exc)).strip().splitlines()[0]
        message = f"the check could not run on this chain: [{exc.sqlstate}] {first}"
        found = Found(rows=[("could not run", message)], message=message)
    _record(verification, name, kind, check, found, time.perf_counter() - start)
    return found


def _record(verification: Verification, name: str, kind: str, check: Check | None,
            found: Found, elapsed_s: float, contract: str = "", gating: bool = True) -> None:
    """The one way every result becomes a CheckResult (``contract``/``gating`` for a result
    that is not one registered check's)."""
    failure = found.message
    if found.rows and not failure:
        failure = describe_rows(check, found.rows, limit=20) if check else str(found.rows[:20])
    verification.checks.append(CheckResult(
        name, kind, found.holds, elapsed_s, found.examples,
        found.checked_rows, found.first_failure, failure if found.rows else "", found.replay,
        check.contract if check else contract, found.skipped,
        check.gating if check else gating,
    ))


def _on_the_way(verification: Verification, harness: Harness, registry: Registry,
                versions: Sequence[str], say: Callable[[str], None]) -> None:
    """The data checks at every version below head, as the tour finds them: reported, never
    failing verify (an old version may break the contract that head's fix restores)."""
    for version in versions:
        say(f"on the way: the data checks at {version}")
        start = time.perf_counter()
        tour = tour_findings(registry.data(), harness.templates, version,
                             harness.settings.vector_dim)
        broken = [n for n, f in tour.items() if f.rows]
        # Before the tenant columns exist (1.0.0) every data check is skipped, saying why.
        skipped = next(iter(tour.values())).skipped if all(
            f.skipped for f in tour.values()) else ""
        found = Found(
            rows=[(name, len(tour[name].rows)) for name in broken], examples=1,
            message="\n".join(
                f"{name}: {describe_rows(registry[name], tour[name].rows, limit=3)}"
                for name in broken),
            skipped=skipped)
        _record(verification, f"data checks at {version}", "on the way", None, found,
                time.perf_counter() - start,
                "every data check holds after each step of the tour", gating=False)


def _lint_vs_locks(verification: Verification, settings: Settings,
                   say: Callable[[str], None]) -> None:
    """squawk's findings against the locks migration_safety measured (no server needed)."""
    say("lint: squawk's findings against the measured locks")
    start = time.perf_counter()
    try:
        found = lint_locks.detect(settings, verification.safety)
    except SchemaKitError as exc:  # e.g. a squawk config squawk refuses: reported, not fatal
        found = Found(rows=[("lint failed", str(exc))], message=str(exc))
    if found.skipped:
        say(f"lint: skipped: {found.skipped}")
    if found.detail is not None:
        verification.details[LINT] = found.detail
    _record(verification, LINT, "lint", None, found, time.perf_counter() - start,
            "squawk's findings imply exactly the ACCESS EXCLUSIVE locks, table rewrites and "
            "index builds migration_safety measures (reported, never failing verify)",
            gating=False)


def _limit(examples: int, cap: int | None, seeds: int) -> int:
    """A seed's examples: the profile's (capped by ``cap``), split over ``seeds``."""
    return seed_examples(min(examples, cap) if cap is not None else examples, seeds)


def run_verification(
    harness: Harness, profile: str, say: Callable[[str], None] = lambda _: None,
    max_examples: int | None = None, shrink: bool = True, registry: Registry = REGISTRY,
    select: Sequence[str] = (), shard: Shard | None = None,
) -> Verification:
    """Run every check of ``registry`` (or the ``select``-ed ones); never raises for a failing
    one (the result says so).

    ``profile`` is a schema_kit profile's short name (``ci``, ``dev``, ``thorough``): the
    properties run with its settings whatever the process' current Hypothesis profile is.
    ``max_examples`` caps each property's Hypothesis examples below the profile's and
    ``shrink=False`` reports the first failing example as found (tests use both to stay
    fast). ``shard`` runs only that shard's units, each property in ``shard.count`` seeds.
    """
    start = time.perf_counter()
    registry = selected(registry, select)
    chain = discover(harness.settings.sql_dir)
    settings = harness.settings
    seeds = shard.count if shard is not None else 1
    # A --check run is a focused look at head: no versions on the way.
    below = [str(m.version) for m in chain[:-1]] if registry.data() and not select else []
    every = units(registry, below, seeds)
    mine = set(shard.mine(every) if shard is not None else every)
    verification = Verification(
        harness.server.backend, harness.server_version, str(settings.sql_dir),
        str(chain[-1].version), profile, chain_digest(settings.sql_dir, harness.params),
        str(shard or ""), every,
    )
    say(f"chain 1 .. {verification.head} on {harness.server.backend} "
        f"PostgreSQL {harness.server_version}" + (f", shard {shard}" if shard else ""))

    def apply_chain() -> Found:
        harness.templates.template("head")
        return Found(examples=1)

    applied = _run(verification, "chain applies", "migration", None, apply_chain)
    if not applied.holds:
        verification.elapsed_s = time.perf_counter() - start
        return verification
    chain_at = (harness.templates, "head", settings.vector_dim)
    data = [c for c in registry.data() if c.name in mine]
    if data:
        say("scenario: the tour of the contract's edges, every data check after each step")
        tour = tour_findings(data, *chain_at)  # one clone for every data check
    for check in (c for c in registry if c.name in mine):
        say(f"{check.family}: {check.name}")
        if check.is_data:
            _record(verification, check.name, "scenario", check, tour[check.name],
                    float(tour[check.name].detail or 0.0))
            continue
        with profile_chosen(profile):  # a chain check drawing examples draws the profile's
            found = _run(verification, check.name, check.family, check,
                         partial(detect, check, *chain_at, replay_dir=settings.replay_dir,
                                 upgrade_rows=settings.upgrade_rows))
        if found.detail is not None:
            verification.details[check.name] = found.detail
    if verification.safety:
        _lint_vs_locks(verification, settings, say)
    _on_the_way(verification, harness, registry,
                [v for v in below if f"data checks at {v}" in mine], say)
    each = _limit(hypothesis_settings(profile).max_examples, max_examples, seeds)
    batch_runs = [(c, property_unit(c.name, s, seeds)) for c in registry.properties()
                  for s in range(1, seeds + 1)]
    batch_runs = [(c, name) for c, name in batch_runs if name in mine]
    if batch_runs:
        db = harness.templates.clone("head", purpose="verify")
        try:
            for check, name in batch_runs:
                say(f"property: {name}")
                run = partial(run_batch_property, check, db, "head", settings.vector_dim,
                              settings.replay_dir, each, shrink,
                              hypothesis_settings(profile), settings.sql_dir)
                _run(verification, name, "property", check, run)
        finally:
            harness.scratch.drop(db.name)
    stateful = hypothesis_settings(profile, stateful=True)
    each = _limit(stateful.max_examples, max_examples, seeds)
    for seed in range(1, seeds + 1):
        name = property_unit(STATEFUL, seed, seeds)
        if name not in mine:
            continue
        say(f"property: {name}")
        run = partial(run_stateful, harness, "head", registry.over_writes(), each, shrink,
                      stateful)
        _run(verification, name, "property", None, run)
    verification.elapsed_s = time.perf_counter() - start
    return verification
