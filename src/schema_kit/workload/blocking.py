"""Who waits for whom while one migration runs under load, sampled from ``pg_blocking_pids``.

A thread polls the workers' and the migrator's backends from a connection of its own. A
sample alone can miss a short migration, so, as migration safety does, a gate connection
holds SHARE on the bookkeeping table, which the migrator's closing INSERT must wait for: the
migration then holds every lock it took until the gate opens. The gate opens once every live
worker is seen blocked or has finished a statement it started after the migration reached
the gate (so, while it held all its locks): each worker is observed against those locks,
whatever the migration's length (``held_s`` says how long that took; it is part of the
waits measured).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from schema_kit.connect import connect
from schema_kit.errors import SchemaKitError

__all__ = ["Blocking", "BlockingMonitor"]

# Each watched backend, who blocks it, and the lock it waits for (a backend waits for one at
# a time). A relation the migration created is not visible here: its lock type stands in.
_BLOCKERS = (
    "SELECT a.pid, pg_blocking_pids(a.pid), l.mode, coalesce(c.relname::text, l.locktype) "
    "FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted "
    "LEFT JOIN pg_class c ON c.oid = l.relation WHERE a.pid = ANY(%s)"
)
# Never hold a migration (and the workers queued behind it) longer than this.
_MAX_HOLD_S = 10.0


@dataclass
class Blocking:
    """What the samples of one migration saw, by worker name."""

    samples: int = 0
    # Polls that saw the worker waiting for a lock the migrator holds (or waits for, ahead
    # of it in the lock queue).
    blocked_by_migrator: Counter[str] = field(default_factory=Counter)
    # Polls that saw the migrator waiting for the worker (e.g. LOCK TABLE behind a write).
    migrator_waited_for: Counter[str] = field(default_factory=Counter)
    # What the workers blocked by the migrator waited for ("RowExclusiveLock on
    # knowledge_bases"), in polls.
    waited_on: Counter[str] = field(default_factory=Counter)
    held_s: float = 0.0
    error: psycopg.Error | None = None


class BlockingMonitor:
    """Samples ``pids`` (worker name by pid) and the migrator's ``migrator_pid`` until
    ``stop``; ``settled(blocked, since)`` says whether the gate may open, given the pids
    blocked now and when the migrator reached the gate."""

    def __init__(self, dsn: str, migrator_pid: int, pids: dict[int, str], table: str,
                 settled: Callable[[set[int], float], bool], interval_s: float = 0.002) -> None:
        self.migrator_pid, self.pids, self.interval_s = migrator_pid, pids, interval_s
        self.settled, self.found = settled, Blocking()
        self._stop, self._ready = threading.Event(), threading.Event()
        self._conn = connect(dsn, autocommit=True)
        try:
            # A poll can never hang, so stop() always gets the thread back.
            self._conn.execute("SET statement_timeout = '5s'")
            self._gate = connect(dsn)
        except BaseException:
            self._conn.close()
            raise
        try:
            self._gate.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(
                sql.Identifier(*table.split("."))))
        except BaseException:
            self._conn.close()
            self._gate.close()
            raise
        self._gate_pid = self._gate.info.backend_pid
        self._gated_at: float | None = None
        self._thread = threading.Thread(target=self._run, name="schema_kit-blocking",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=5)  # the first poll precedes the migration

    def _poll(self, watched: Sequence[int]) -> None:
        rows = self._conn.execute(_BLOCKERS, (list(watched),)).fetchall()
        blockers = {int(pid): set(by or ()) for pid, by, _, _ in rows}
        waits = {int(pid): f"{mode} on {what}" for pid, _, mode, what in rows if mode}
        found = self.found
        found.samples += 1
        for pid, name in self.pids.items():
            if self.migrator_pid in blockers.get(pid, ()):
                found.blocked_by_migrator[name] += 1
                if pid in waits:  # its ungranted lock can be granted between the two reads
                    found.waited_on[waits[pid]] += 1
            if pid in blockers.get(self.migrator_pid, ()):
                found.migrator_waited_for[name] += 1
        if self._gate.closed:
            return
        at_gate = self._gate_pid in blockers.get(self.migrator_pid, ())
        now = time.perf_counter()
        if at_gate and self._gated_at is None:
            self._gated_at = now
        blocked = {pid for pid, by in blockers.items() if by and pid != self.migrator_pid}
        if self._gated_at is not None and (self.settled(blocked, self._gated_at)
                                           or now - self._gated_at > _MAX_HOLD_S):
            self._gate.rollback()
            self._gate.close()
            found.held_s = time.perf_counter() - self._gated_at

    def _run(self) -> None:
        watched = [*self.pids, self.migrator_pid]
        try:
            while True:
                self._poll(watched)
                self._ready.set()
                if self._stop.wait(self.interval_s):
                    break
        except psycopg.Error as exc:
            self.found.error = exc
        finally:
            self._gate.close()  # never leave the migration waiting on a dead monitor
            self._ready.set()

    def stop(self) -> Blocking:
        self._stop.set()
        self._thread.join(timeout=30)
        if self._thread.is_alive():  # a poll is bounded by statement_timeout: not expected
            raise SchemaKitError("the blocking monitor did not stop within 30 s")
        self._conn.close()
        self._gate.close()
        return self.found

    def __enter__(self) -> BlockingMonitor:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
