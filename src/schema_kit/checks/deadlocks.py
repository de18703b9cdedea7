"""Deadlocks of a schedule: registration's fault or PostgreSQL's.

A deadlocked schedule is run again from the same reset state with every (tenant, kb) it uses
registered beforehand, the chain's own way. Fewer deadlocks then, reproducibly, means
registration caused one: a violation of the contract at head. The rest is classified.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from schema_kit.checks.registry import Violation
from schema_kit.workload.scheduler import (
    Ending,
    ScheduleRun,
    Sessions,
    TransactionOutcome,
    describe,
    run_schedule,
)
from schema_kit.workload.schedules import POOL, TABLES, TENANTS, Schedule
from schema_kit.workload.tables import tenant_tables
from schema_kit.workload.writes import Row, Upsert

__all__ = [
    "INHERENT",
    "SNAPSHOT",
    "TENANT_DELETED",
    "TIMING",
    "classify_deadlocks",
    "deadlocks",
    "preregister",
    "reset",
]

INHERENT = "deadlock victim (inherent: the same with every key registered beforehand)"
TENANT_DELETED = "deadlock victim (inherent: a tenant deleted while another session writes it)"
TIMING = "deadlock victim (timing: as often with every key registered, over two runs each)"
SNAPSHOT = "deadlock victim (not judged: a snapshot-isolated transaction in the schedule)"


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


def deadlocks(run: ScheduleRun) -> int:
    return sum(e is Ending.DEADLOCK for e in run.endings())


def _counterfactual(
    pool: Sessions, conn: psycopg.Connection[Any], schedule: Schedule, vector_dim: int,
    registered: bool,
) -> int:
    """Deadlocks of ``schedule`` run again from the reset state (``registered``: with every
    key it uses registered beforehand)."""
    reset(conn)
    if registered:
        preregister(conn, schedule, vector_dim)
    return deadlocks(run_schedule(pool, schedule, vector_dim))


def classify_deadlocks(
    pool: Sessions, conn: psycopg.Connection[Any], schedule: Schedule, run: ScheduleRun,
    vector_dim: int,
) -> str | Violation:
    """The class of ``run``'s deadlock victims, or the violation when registration caused
    them. Registration is blamed only where it reproduces: the schedule deadlocks on each of
    two runs, and more often than on each of two with every key registered beforehand. When
    several sessions wait for one row, which of them gets it once it is free is up to the
    server, so a single run cannot tell."""
    try:
        registered = [_counterfactual(pool, conn, schedule, vector_dim, True)]
        if registered[0] >= deadlocks(run):
            return INHERENT
        registered.append(_counterfactual(pool, conn, schedule, vector_dim, True))
        plain = [deadlocks(run), _counterfactual(pool, conn, schedule, vector_dim, False)]
    except psycopg.Error as exc:  # the chain refused a valid write: say so, keep going
        conn.rollback()
        return ("pre-registering the keys failed", f"{exc.sqlstate}: {exc}")
    if min(plain) <= max(registered):
        return TIMING
    if any(s.action == "begin" and s.target for steps in schedule.sessions for s in steps):
        # Under REPEATABLE READ or SERIALIZABLE, registering at commit a key another session
        # committed after the snapshot fails to serialize (40001); pre-registering removes
        # those failures too, so the replay has another history, not the same one without
        # registration's waits.
        return SNAPSHOT
    if _tenant_deleted_under_a_victim(run):
        # Pre-registering changes what the delete does (the tenant now exists to be
        # deleted), so the replay proves nothing; without registration the victim's
        # foreign-key check would wait for the deleting session the same way.
        return TENANT_DELETED
    return ("registration caused a deadlock",
            f"{'; '.join(describe(run))} | deadlocks in two runs: {plain}; with every key "
            f"registered beforehand: {registered}")


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
