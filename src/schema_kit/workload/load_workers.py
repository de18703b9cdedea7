"""LightRAG-shaped writers and readers in threads, each timing every statement it runs.

A writer runs LightRAG's batched upsert (``INSERT … ON CONFLICT DO UPDATE``) and its delete
(``workspace = $1 AND id = ANY($2)``), one transaction each, on rows of its own (ids
``ul-w<n>-…``) in workspaces that are valid at every version of the chain, and keeps the
model of what it committed. A reader runs tenant-filtered selects. Every statement is logged
with its start, end and SQLSTATE, so a wait is the latency of a statement that overlapped a
migration. A worker never dies silently: its exception is kept and ``Workers.stop`` raises it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from schema_kit.connect import connect
from schema_kit.errors import SchemaKitError
from schema_kit.workload.oracle import Model
from schema_kit.workload.tables import VECTOR_TABLES
from schema_kit.workload.writes import Delete, Operation, Row, Upsert

__all__ = ["ID_PREFIX", "Statement", "Worker", "Workers"]

ID_PREFIX = "ul-"  # the writers' row ids: the pre-loaded rows never start with it
_BATCH = 20


@dataclass(frozen=True)
class Statement:
    """One statement (a writer's includes its COMMIT), timed on ``time.perf_counter``."""

    worker: str
    kind: str  # "write" or "read"
    start: float
    end: float
    sqlstate: str | None = None  # None: it succeeded

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class Worker:
    name: str
    kind: str
    pid: int = 0
    log: list[Statement] = field(default_factory=list)
    model: Model = field(default_factory=Model)  # what a writer committed
    failures: list[str] = field(default_factory=list)  # a writer's failed writes, described
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def completed_since(self, moment: float) -> bool:
        """Whether a statement that started at or after ``moment`` has ended."""
        log = self.log
        return bool(log) and log[-1].start >= moment

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


class Workers:
    """``writers`` + ``readers`` threads on ``dsn`` until ``stop``; ``workspaces`` are where
    they write and read, ``tables`` what they write (both valid at every version)."""

    def __init__(self, dsn: str, workspaces: Sequence[str], tables: Sequence[str],
                 vector_dim: int, writers: int = 3, readers: int = 2, seed: int = 0) -> None:
        self.dsn, self.workspaces, self.tables = dsn, list(workspaces), list(tables)
        self.vector_dim, self.seed = vector_dim, seed
        self.workers = [Worker(f"writer {n}", "write") for n in range(writers)]
        self.workers += [Worker(f"reader {n}", "read") for n in range(readers)]
        self._stop = threading.Event()
        self._conns: dict[str, psycopg.Connection[Any]] = {}

    def start(self) -> None:
        for n, worker in enumerate(self.workers):
            # Connected here, so every pid is known before the first migration starts.
            conn = connect(self.dsn, autocommit=worker.kind == "read")
            self._conns[worker.name] = conn
            worker.pid = conn.info.backend_pid
            target = self._write if worker.kind == "write" else self._read
            worker.thread = threading.Thread(target=self._guarded, args=(target, worker, conn, n),
                                             name=f"schema_kit-{worker.name}", daemon=True)
            worker.thread.start()

    def wait_for(self, statements: int, since: float, timeout_s: float = 300.0) -> None:
        """Until every worker has ended ``statements`` statements that started after
        ``since``; raises when one died or the time ran out (a server that stopped)."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._raise_dead()
            if all(sum(s.start >= since for s in w.log[-statements:]) >= statements
                   for w in self.workers):
                return
            if time.monotonic() > deadline:
                raise SchemaKitError(f"the workers did not run {statements} statements each "
                                     f"in {timeout_s:.0f} s")
            time.sleep(0.005)

    def stop(self) -> None:
        """Stop and join every thread, close every connection; re-raise a worker's error."""
        self._stop.set()
        try:
            for worker in (w for w in self.workers if w.thread is not None):
                assert worker.thread is not None
                worker.thread.join(timeout=60)
                if worker.thread.is_alive():  # stuck in a statement: cancel it, then join
                    self._conns[worker.name].cancel_safe()
                    worker.thread.join(timeout=30)
                if worker.thread.is_alive():
                    raise SchemaKitError(f"{worker.name} did not stop")
        finally:
            for conn in self._conns.values():
                conn.close()
        self._raise_dead()

    def _raise_dead(self) -> None:
        for worker in self.workers:
            if worker.error is not None:
                raise SchemaKitError(f"{worker.name} failed: {type(worker.error).__name__}: "
                                     f"{worker.error}") from worker.error

    def _guarded(self, target: Any, worker: Worker, conn: psycopg.Connection[Any],
                 n: int) -> None:
        try:
            target(worker, conn, random.Random(self.seed * 1000 + n))
        except BaseException as exc:  # a thread must report, not die silently
            worker.error = exc

    def _timed(self, worker: Worker, conn: psycopg.Connection[Any],
               query: sql.Composed, params: Sequence[Any]) -> bool:
        start = time.perf_counter()
        try:
            conn.execute(query, params)
            if not conn.autocommit:
                conn.commit()
        except psycopg.Error as exc:
            # A refused statement or COMMIT: the worker goes on, as LightRAG would retry.
            if not conn.broken:
                conn.rollback()
            worker.log.append(Statement(worker.name, worker.kind, start, time.perf_counter(),
                                        exc.sqlstate or "none"))
            if conn.broken:
                raise
            return False
        worker.log.append(Statement(worker.name, worker.kind, start, time.perf_counter()))
        return True

    def _write(self, worker: Worker, conn: psycopg.Connection[Any], rng: random.Random) -> None:
        n, counter = worker.name.split()[-1], 0
        # A workspace of the writer's own too: new tenants registered during the upgrade.
        spaces = [*self.workspaces, f"ul{n}:kb0", f"ul{n}:kb1"]
        own: dict[tuple[str, str], set[str]] = {}  # committed ids by (table, workspace)
        while not self._stop.is_set():
            table, space, roll = rng.choice(self.tables), rng.choice(spaces), rng.random()
            mine = sorted(own.setdefault((table, space), set()))
            op: Operation
            if mine and roll < 0.15:
                ids = tuple(rng.sample(mine, min(len(mine), 5)))
                op = Delete(table, space, ids)
            else:
                if mine and roll < 0.35:  # LightRAG re-upserting rows it wrote before
                    ids = tuple(rng.sample(mine, min(len(mine), _BATCH)))
                else:
                    ids = tuple(f"{ID_PREFIX}w{n}-{counter + i}" for i in range(_BATCH))
                    counter += _BATCH
                seed = rng.randrange(256) if table in VECTOR_TABLES else None
                rows = tuple(Row(table, space, i, f"upgrade {i} {roll:.3f}", seed) for i in ids)
                op = Upsert(table, rows, self.vector_dim)
            query, params = op.query()
            if self._timed(worker, conn, query, params):
                if isinstance(op, Delete):
                    worker.model.delete(table, space, op.ids)
                    own[table, space].difference_update(ids)
                else:
                    worker.model.upsert(table, [(space, i) for i in ids])
                    own[table, space].update(ids)
            else:
                worker.failures.append(f"{worker.name}: {type(op).__name__.lower()} of "
                                       f"{len(ids)} row(s) in {table} [{worker.log[-1].sqlstate}]")

    def _read(self, worker: Worker, conn: psycopg.Connection[Any], rng: random.Random) -> None:
        while not self._stop.is_set():
            tenant, _, kb = rng.choice(self.workspaces).partition(":")
            table = sql.Identifier(rng.choice(self.tables))
            if rng.random() < 0.5:  # a kb's rows, as LightRAG lists a knowledge base
                query = sql.SQL("SELECT id, workspace FROM {} WHERE tenant_id = %s AND kb_id = %s "
                                "ORDER BY id LIMIT 50").format(table)
                self._timed(worker, conn, query, (tenant, kb))
            else:  # a tenant's size, as a per-tenant dashboard counts it
                query = sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(table)
                self._timed(worker, conn, query, (tenant,))
