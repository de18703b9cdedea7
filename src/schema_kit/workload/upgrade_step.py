"""One migration of an upgrade under load: run (and re-run) while the blocking monitor watches.

What counts as "during" the migration is every statement of the workers that overlapped it,
from the start of its first attempt to the end of its last: their longest latency is the
longest wait. A migration refused for a transient reason (SQLSTATE class 40: a deadlock with
a writer) is run again, as an operator re-runs a deploy; a lock timeout (55P03) the migrator
re-runs itself (``Migrator.lock_retries``). Every refusal is kept, and a migration that never
applies stops the upgrade there.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from schema_kit.db.migrations import Migration, Migrator
from schema_kit.errors import MigrationError, SchemaKitError
from schema_kit.workload.blocking import BlockingMonitor
from schema_kit.workload.load_workers import Statement, Workers

__all__ = ["Latency", "MigrationLoad", "migrate_watched"]

_TRANSIENT = "40"


@dataclass(frozen=True)
class Latency:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, statements: Sequence[Statement]) -> Latency:
        ms = sorted(s.seconds * 1000 for s in statements)
        if not ms:
            return cls(0, 0.0, 0.0, 0.0)

        def rank(q: float) -> float:  # nearest rank: a latency that was measured
            return round(ms[max(0, math.ceil(q * len(ms)) - 1)], 2)

        return cls(len(ms), rank(0.5), rank(0.99), round(ms[-1], 2))


@dataclass(frozen=True)
class MigrationLoad:
    version: str
    description: str
    applied: bool
    attempts: int
    errors: tuple[str, ...]  # each refused attempt: "[SQLSTATE] message"
    lock_timeouts: int  # attempts the migrator itself re-ran after a lock timeout (55P03)
    elapsed_s: float  # the migration's own time (its applied attempt), less the hold
    held_s: float  # the migration held at its end until every worker was observed
    writes: Latency  # write statements (with their COMMIT) overlapping the migration
    reads: Latency
    longest_wait_s: float  # the longest statement of any worker overlapping it
    failed: dict[str, int]  # SQLSTATE -> workers' statements overlapping it that failed
    blocked: dict[str, int]  # worker -> polls that saw it wait for the migrator's locks
    migrator_waited_for: dict[str, int]  # worker -> polls that saw the migrator wait for it
    waited_on: dict[str, int]  # "<lock mode> on <relation>" -> polls of blocked workers
    samples: int


def _sqlstate(exc: MigrationError) -> str:
    cause = exc.__cause__
    return (cause.sqlstate or "") if isinstance(cause, psycopg.Error) else ""


def migrate_watched(conn: psycopg.Connection[Any], migrator: Migrator, migration: Migration,
                    dsn: str, workers: Workers, attempts: int = 3) -> MigrationLoad:
    """Apply ``migration`` on ``conn`` (up to ``attempts`` times) and measure the workers."""
    blocked: Counter[str] = Counter()
    waited: Counter[str] = Counter()
    waited_on: Counter[str] = Counter()
    errors: list[str] = []
    samples, held, elapsed, applied, first = 0, 0.0, 0.0, False, time.perf_counter()
    timeouts = 0

    def settled(pids: set[int], since: float) -> bool:
        return all(w.pid in pids or w.completed_since(since) for w in workers.workers if w.alive)

    names = {w.pid: w.name for w in workers.workers}
    for _attempt in range(attempts):
        monitor = BlockingMonitor(dsn, conn.info.backend_pid, names, migrator.table, settled)
        monitor.start()
        again = False
        try:
            steps = migrator.migrate(str(migration.version))
            applied, elapsed = True, sum(s.elapsed_s for s in steps)
            timeouts += sum(s.attempts - 1 for s in steps)
        except MigrationError as exc:
            state = _sqlstate(exc)
            errors.append(f"[{state or 'no SQLSTATE'}] {exc}")
            again = state.startswith(_TRANSIENT)
            if state == "55P03":  # the migrator re-ran it until its retries ran out
                timeouts += migrator.lock_retries
        finally:
            seen = monitor.stop()
        if seen.error is not None:
            raise SchemaKitError(f"the blocking monitor of {migration.version} failed "
                                 f"[{seen.error.sqlstate}] {seen.error}; measurements incomplete")
        samples += seen.samples
        blocked.update(seen.blocked_by_migrator)
        waited.update(seen.migrator_waited_for)
        waited_on.update(seen.waited_on)
        held += seen.held_s
        if not again:
            break
    end = time.perf_counter()
    during = [s for w in workers.workers for s in w.log if s.start < end and s.end > first]
    return MigrationLoad(
        str(migration.version), migration.description, applied, len(errors) + applied,
        tuple(errors), timeouts,
        round(max(0.0, elapsed - seen.held_s), 4) if applied else 0.0,
        round(held, 4), Latency.of([s for s in during if s.kind == "write"]),
        Latency.of([s for s in during if s.kind == "read"]),
        round(max((s.seconds for s in during), default=0.0), 4),
        dict(Counter(s.sqlstate for s in during if s.sqlstate)), dict(blocked), dict(waited),
        dict(waited_on), samples)
