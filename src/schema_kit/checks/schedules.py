"""Generated concurrent schedules (invariant 8): the check, its property and the deadlock
classifier.

Each Hypothesis example is a schedule (``workload.schedules``) run step by step
(``workload.scheduler``) on one clone, reset between examples. It fails when a transaction
fails for a reason the contract does not give, when the committed rows disagree with the
committed transactions (``schedule_oracle``), when a model-free check finds a violation, or
when registration caused a deadlock. A deadlock is blamed on registration when the same
schedule, replayed with every (tenant, kb) it uses registered beforehand, has none; one that
stays is inherent to PostgreSQL (rows locked in opposite orders) and is counted, not failed.
A failure shrinks to a minimal schedule, written as an isolation-tester ``.spec`` and a plain
listing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from schema_kit.checks.deadlocks import classify_deadlocks, deadlocks, reset
from schema_kit.checks.properties import overrides_for, quiet_reprs
from schema_kit.checks.registry import (
    ChainTarget,
    Check,
    DataTarget,
    Found,
    InvariantError,
    Needs,
    Violation,
    describe_rows,
)
from schema_kit.checks.replay import write_atomically
from schema_kit.checks.schedule_oracle import committed_violations, stored
from schema_kit.connect import connect
from schema_kit.workload.profiles import hypothesis_settings, selected
from schema_kit.workload.schedule_spec import listing, to_spec
from schema_kit.workload.scheduler import (
    Ending,
    ScheduleRun,
    Sessions,
    describe,
    run_schedule,
)
from schema_kit.workload.schedules import (
    ACTIONS,
    MAX_SESSIONS,
    PROBES,
    TABLES,
    Schedule,
    schedules,
)
from schema_kit.workload.tables import tenant_tables

__all__ = [
    "NAME",
    "Examined",
    "ScheduleError",
    "concurrent_schedules_check",
    "examine",
    "run_schedules",
    "write_replay",
]

NAME = "concurrent_schedules"
# Examples and sessions per schema_kit profile: small in pytest (ci), thorough in verify.
EXAMPLES = {"ci": 25, "dev": 8, "thorough": 500}
SESSIONS = {"ci": 3, "dev": 2, "thorough": 6}
# Mostly READ COMMITTED (LightRAG's), some REPEATABLE READ and SERIALIZABLE transactions.
MIX = ("", "", "repeatable read", "serializable")


@dataclass
class Examined:
    schedule: Schedule
    run: ScheduleRun
    violations: list[Violation] = field(default_factory=list)
    # Each transaction's class; a deadlock that stays with the keys registered is inherent.
    classes: Counter[str] = field(default_factory=Counter)


class ScheduleError(InvariantError):
    """A schedule broke the contract: the sections of InvariantError, then the schedule."""

    def __init__(self, check: Check, version: str, examined: Examined, replay: str) -> None:
        super().__init__(check, version, examined.violations, replay)
        outcomes = "\n".join(f"  {line}" for line in describe(examined.run))
        cycles = [f"  {r.name}: {r.cycle}".replace("\n", "\n    ")
                  for r in examined.run.results if r.cycle]
        if cycles:
            outcomes += "\ndeadlocks, as the server saw them:\n" + "\n".join(cycles)
        self.args = (f"{self.args[0]}\nschedule:\n{listing(examined.schedule, _results(examined))}"
                     f"\noutcomes:\n{outcomes}",)


def _results(examined: Examined) -> list[str]:
    return [r.summary() for r in examined.run.results]


def examine(
    pool: Sessions, conn: psycopg.Connection[Any], schedule: Schedule, vector_dim: int,
    checks: Sequence[Check],
) -> Examined:
    """Run ``schedule`` on ``pool``'s sessions from the reset state, and judge what it left
    through ``conn`` (a connection of the same database)."""
    reset(conn)
    run = run_schedule(pool, schedule, vector_dim)
    examined = Examined(schedule, run)
    found = examined.violations
    if run.stuck:
        found.append(("schedule stuck", run.stuck))
    found += [("transaction failed", f"s{t.session + 1} tx{t.number} at {t.step}: {t.error}")
              for t in run.transactions if t.ending is Ending.FAILED]
    found += committed_violations(run.committed(), *stored(conn))
    target = DataTarget(conn, tenant_tables(conn))
    for check in checks:
        if rows := check.run(target):
            found.append((check.name, describe_rows(check, rows, limit=3)))
    conn.rollback()
    examined.classes.update(t.ending.value for t in run.transactions)
    if deadlocks(run):
        victims = examined.classes.pop(Ending.DEADLOCK.value)
        verdict = classify_deadlocks(pool, conn, schedule, run, vector_dim)
        if isinstance(verdict, str):
            examined.classes[verdict] += victims
        else:
            examined.classes[Ending.DEADLOCK.value] += victims
            found.append(verdict)
    return examined


def write_replay(
    target: ChainTarget, conn: psycopg.Connection[Any], examined: Examined
) -> str:
    if target.replay_dir is None:
        return "(no replay dir configured: the schedule is listed below)"
    base = Path(target.replay_dir) / f"{NAME}-{target.version}"
    found = "; ".join(f"{what}: {detail}" for what, detail in examined.violations[:3])
    spec = to_spec(examined.schedule, conn, target.version, target.vector_dim, [
        "found: " + found.replace("\n", " "),
        *("as run: " + line for line in describe(examined.run)),
    ])
    listed = write_atomically(Path(f"{base}.txt"),
                              listing(examined.schedule, _results(examined)) + "\n")
    path = write_atomically(Path(f"{base}.spec"), spec)
    return f"{path} (isolation tester spec; listing: {listed})"


def run_schedules(
    check: Check, target: ChainTarget, checks: Sequence[Check],
    strategy: st.SearchStrategy[Schedule] | None = None, max_examples: int | None = None,
    shrink: bool = True, parent: settings | None = None, explicit: Sequence[Schedule] = PROBES,
    raise_failure: bool = False,
) -> Found:
    """Hypothesis over schedules (default: the selected profile's size) on one clone, the
    ``explicit`` ones first; the model-free checks among ``checks`` judge each schedule's
    committed state. A failure is the Found's rows, or raised (``raise_failure``)."""
    profile = selected()
    base = parent if parent is not None else hypothesis_settings()
    drawn = strategy if strategy is not None else schedules(max_sessions=SESSIONS[profile],
                                                            isolations=MIX)
    examples = max_examples if max_examples is not None else EXAMPLES[profile]
    model_free = [c for c in checks if c.needs is Needs.DATABASE]
    totals: Counter[str] = Counter()
    runs, first = [0], [0]
    db = target.templates.clone(target.version, purpose="sched")
    try:
        with connect(db.dsn) as conn:
            missing = [t for t in TABLES if t not in tenant_tables(conn)]
        if missing:
            return Found(skipped=f"the schedules write {', '.join(TABLES)}; not under the "
                                 f"tenant contract at {target.version}: {', '.join(missing)}")
        with Sessions(db.dsn, MAX_SESSIONS) as pool, connect(db.dsn) as conn:

            def prop(schedule: Schedule) -> None:
                runs[0] += 1
                examined = examine(pool, conn, schedule, target.vector_dim, model_free)
                totals.update(examined.classes)
                if examined.violations:
                    first[0] = first[0] or runs[0]
                    replay = write_replay(target, conn, examined)
                    raise ScheduleError(check, target.version, examined, replay)

            test = given(schedule=drawn)(prop)
            for known in explicit:
                test = example(schedule=known)(test)
            # One failure, the one shrunk: a second kind found on the way (say, a victim at
            # COMMIT and one at a write) would otherwise come as an exception group.
            test = settings(base, report_multiple_bugs=False, **overrides_for(
                base, f"{NAME}@{target.version}", examples, shrink))(test)
            with quiet_reprs():
                test()
    except (Flaky, ScheduleError) as caught:
        exc = caught if isinstance(caught, ScheduleError) else next(
            (e for e in getattr(caught, "exceptions", ()) if isinstance(e, ScheduleError)), None)
        if exc is None:  # a Flaky of Hypothesis' own (say, of the strategy): not ours to judge
            raise
        if exc is not caught:  # failed once, then not when Hypothesis ran it again
            exc.args = (f"{exc.args[0]}\n(it did not fail again when Hypothesis re-ran it: "
                        "the outcome depends on timing)",)
        if raise_failure:
            raise exc from (caught if exc is not caught else None)
        return Found(rows=exc.rows, examples=runs[0], first_failure=first[0],
                     message=str(exc), replay=exc.replay.split(" ", 1)[0], detail=dict(totals))
    finally:
        target.templates.scratch.drop(db.name)
    return Found(examples=runs[0], detail=dict(totals))


def concurrent_schedules_check(checks: Callable[[], Sequence[Check]]) -> Check:
    """The schedule check, judging with the model-free checks among ``checks()``."""

    def detect(target: ChainTarget) -> Found:
        return run_schedules(check, target, checks())

    check = Check(
        NAME, "concurrency",
        f"generated schedules of 2+ sessions over {', '.join(ACTIONS)}, BEGIN, COMMIT and "
        "ROLLBACK, interleaved step by step: every transaction commits, is refused by the "
        "contract, or is an inherent deadlock victim; the committed rows are what the "
        "committed transactions wrote; registration never causes a deadlock",
        Needs.CHAIN, ("what", "detail"), detect=detect,
    )
    return check
