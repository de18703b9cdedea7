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
from psycopg import sql

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
from schema_kit.workload.scheduler import (
    Ending,
    ScheduleRun,
    Sessions,
    TransactionOutcome,
    describe,
    run_schedule,
)
from schema_kit.workload.schedules import (
    ACTIONS,
    MAX_SESSIONS,
    POOL,
    PROBES,
    TABLES,
    TENANTS,
    Schedule,
    listing,
    schedules,
    to_spec,
)
from schema_kit.workload.tables import tenant_tables
from schema_kit.workload.writes import Row, Upsert

__all__ = [
    "INHERENT",
    "NAME",
    "SNAPSHOT",
    "TENANT_DELETED",
    "TIMING",
    "Examined",
    "ScheduleError",
    "concurrent_schedules_check",
    "examine",
    "preregister",
    "reset",
    "run_schedules",
    "write_replay",
]

NAME = "concurrent_schedules"
# Examples and sessions per schema_kit profile: small in pytest (ci), thorough in verify.
EXAMPLES = {"ci": 25, "dev": 8, "thorough": 500}
SESSIONS = {"ci": 3, "dev": 2, "thorough": 6}
# Mostly READ COMMITTED (LightRAG's), some REPEATABLE READ and SERIALIZABLE transactions.
MIX = ("", "", "repeatable read", "serializable")
INHERENT = "deadlock victim (inherent: the same with every key registered beforehand)"
TENANT_DELETED = "deadlock victim (inherent: a tenant deleted while another session writes it)"
TIMING = "deadlock victim (timing: as often with every key registered, over two runs each)"
SNAPSHOT = "deadlock victim (not judged: a snapshot-isolated transaction in the schedule)"


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


def _delete_where(table: str, column: str) -> sql.Composed:
    return sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(
        sql.Identifier(table), sql.Identifier(column))


def reset(conn: psycopg.Connection[Any]) -> None:
    """Remove the pool's rows, kbs and tenants (committed), so each schedule starts alike."""
    present = tenant_tables(conn)
    for table in (t for t in TABLES if t in present):
        conn.execute(_delete_where(table, "workspace"), [list(POOL)])
    for registry in ("knowledge_bases", "tenants"):
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [registry]).fetchone()
        if exists == (True,):
            conn.execute(_delete_where(registry, "tenant_id"), [list(TENANTS)])
    conn.commit()


def preregister(conn: psycopg.Connection[Any], schedule: Schedule, vector_dim: int) -> None:
    """Register every (tenant, kb) of ``schedule`` the chain's own way (a row written and
    committed, then deleted), so no step of a replay has a key left to register."""
    rows = tuple(Row(TABLES[0], f"{p.tenant_id}:{p.kb_id}", "schema_kit-preregister")
                 for p in sorted(schedule.partitions()))
    if not rows:
        return
    query, params = Upsert(TABLES[0], rows, vector_dim).query()
    conn.execute(query, params)
    conn.commit()
    conn.execute(_delete_where(TABLES[0], "id"), [["schema_kit-preregister"]])
    conn.commit()


def _deadlocks(run: ScheduleRun) -> int:
    return sum(e is Ending.DEADLOCK for e in run.endings())


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
    if _deadlocks(run):
        _classify_deadlocks(pool, conn, examined, vector_dim)
    return examined


def _counterfactual(
    pool: Sessions, conn: psycopg.Connection[Any], schedule: Schedule, vector_dim: int,
    registered: bool,
) -> int:
    """Deadlocks of ``schedule`` run again from the reset state (``registered``: with every
    key it uses registered beforehand)."""
    reset(conn)
    if registered:
        preregister(conn, schedule, vector_dim)
    return _deadlocks(run_schedule(pool, schedule, vector_dim))


def _classify_deadlocks(
    pool: Sessions, conn: psycopg.Connection[Any], examined: Examined, vector_dim: int
) -> None:
    """Blame registration only where it reproduces: the schedule deadlocks on each of two
    runs, and more often than on each of two with every key registered beforehand. When
    several sessions wait for one row, which of them gets it once it is free is up to the
    server, so a single run cannot tell."""
    run, found = examined.run, examined.violations
    victims = examined.classes.pop(Ending.DEADLOCK.value)
    try:
        registered = [_counterfactual(pool, conn, examined.schedule, vector_dim, True)]
        if registered[0] >= _deadlocks(run):
            examined.classes[INHERENT] += victims
            return
        registered.append(_counterfactual(pool, conn, examined.schedule, vector_dim, True))
        plain = [_deadlocks(run),
                 _counterfactual(pool, conn, examined.schedule, vector_dim, False)]
    except psycopg.Error as exc:  # the chain refused a valid write: say so, keep going
        conn.rollback()
        found.append(("pre-registering the keys failed", f"{exc.sqlstate}: {exc}"))
        return
    if min(plain) <= max(registered):
        examined.classes[TIMING] += victims
    elif any(s.action == "begin" and s.target for steps in examined.schedule.sessions
             for s in steps):
        # Under REPEATABLE READ or SERIALIZABLE, registering at commit a key another session
        # committed after the snapshot fails to serialize (40001); pre-registering removes
        # those failures too, so the replay has another history, not the same one without
        # registration's waits.
        examined.classes[SNAPSHOT] += victims
    elif _tenant_deleted_under_a_victim(run):
        # Pre-registering changes what the delete does (the tenant now exists to be
        # deleted), so the replay proves nothing; without registration the victim's
        # foreign-key check would wait for the deleting session the same way.
        examined.classes[TENANT_DELETED] += victims
    else:
        found.append(("registration caused a deadlock",
                      f"{'; '.join(describe(run))} | deadlocks in two runs: {plain}; with every "
                      f"key registered beforehand: {registered}"))


def _tenant_deleted_under_a_victim(run: ScheduleRun) -> bool:
    """Some deadlock victim wrote into a tenant another session deleted, or deleted a tenant
    another session wrote into."""
    def written(t: TransactionOutcome) -> set[str]:
        return {p.tenant_id for step in t.steps for p in step.partitions()}

    def deleted(t: TransactionOutcome) -> set[str]:
        return {step.tenant for step in t.steps if step.action == "delete_tenant"}

    for victim in (t for t in run.transactions if t.ending is Ending.DEADLOCK):
        others = [t for t in run.transactions if t.session != victim.session]
        if any(written(victim) & deleted(t) or deleted(victim) & written(t) for t in others):
            return True
    return False


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
    except Flaky as flaky:  # failed once, then not when Hypothesis ran it again
        exc = next((e for e in getattr(flaky, "exceptions", ()) if isinstance(e, ScheduleError)),
                   None)
        if exc is None:
            raise
        exc.args = (f"{exc.args[0]}\n(it did not fail again when Hypothesis re-ran it: the "
                    "outcome depends on timing)",)
        if raise_failure:
            raise exc from flaky
        return Found(rows=exc.rows, examples=runs[0], first_failure=first[0],
                     message=str(exc), replay=exc.replay.split(" ", 1)[0], detail=dict(totals))
    except ScheduleError as exc:
        if raise_failure:
            raise
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
