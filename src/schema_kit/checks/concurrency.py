"""Concurrent writers introducing the same new tenants and kbs at once (invariant 2)."""

from __future__ import annotations

import functools
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from schema_kit.checks.registry import (
    ChainTarget,
    Check,
    DataTarget,
    Found,
    Needs,
    Violation,
    describe_rows,
)
from schema_kit.connect import connect
from schema_kit.db.databases import Database
from schema_kit.workload.oracle import Model
from schema_kit.workload.session import WriteSession
from schema_kit.workload.strategies import Batch
from schema_kit.workload.tables import tenant_tables
from schema_kit.workload.writes import Row

__all__ = ["ConcurrencyResult", "concurrency_check", "run_writers"]

_TABLES = ("lightrag_doc_chunks", "lightrag_vdb_entity", "lightrag_doc_status")


@dataclass
class ConcurrencyResult:
    writers: int
    rounds: int
    errors: list[str] = field(default_factory=list)
    violation: str = ""
    violations: list[Violation] = field(default_factory=list)
    tenants: int = 0
    kbs: int = 0
    rows: int = 0

    @property
    def holds(self) -> bool:
        return not self.errors and not self.violation


def _batch(writer: int, round_: int, rng: random.Random) -> Batch:
    # Every writer introduces the same new tenants and kbs in a round, each in its own order,
    # with row ids of its own: only registration is contended, not the data.
    workspaces = [f"tenant{round_}-{t}:kb{k}" for t in range(4) for k in range(3)]
    rng.shuffle(workspaces)
    return Batch(tuple(
        Row(table, ws, f"w{writer}-r{round_}-{n}", f"writer {writer}")
        for n, ws in enumerate(workspaces) for table in _TABLES
    ))


def run_writers(
    db: Database, version: str, vector_dim: int, checks: Sequence[Check], writers: int = 8,
    rounds: int = 5,
) -> ConcurrencyResult:
    """Run the writers (one connection and one transaction per batch each), then check."""
    barrier = threading.Barrier(writers)
    result = ConcurrencyResult(writers, rounds)
    models: list[Model] = []

    def writer(n: int) -> None:
        rng = random.Random(n)
        try:
            with connect(db.dsn) as conn:
                session = WriteSession(conn, version, vector_dim)
                for round_ in range(rounds):
                    barrier.wait(timeout=60)
                    for outcome in session.write(_batch(n, round_, rng)):
                        if outcome.error:
                            result.errors.append(f"writer {n}: {outcome.error}")
                    conn.commit()
                models.append(session.model)
        except Exception as exc:  # a thread must report, not die silently
            result.errors.append(f"writer {n}: {type(exc).__name__}: {exc}")
            barrier.abort()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    merged = functools.reduce(Model.merged, models, Model())
    with connect(db.dsn) as conn:
        target = DataTarget(conn, tenant_tables(conn), merged, frozenset(merged.workspaces()))
        for check in checks:
            rows = check.run(target)
            if rows:
                result.violation = f"{check.name}: {describe_rows(check, rows)}"
                result.violations = rows
                break
        row = conn.execute(
            "SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM knowledge_bases)"
        ).fetchone()
        conn.rollback()
    result.tenants, result.kbs = (int(row[0]), int(row[1])) if row else (0, 0)
    result.rows = len(merged.rows)
    return result


def concurrency_check(checks: Callable[[], Sequence[Check]]) -> Check:
    """The concurrent-registration check, judging the writers' result by ``checks()``."""

    def detect(target: ChainTarget) -> Found:
        db = target.templates.clone(target.version, purpose="conc")
        try:
            result = run_writers(db, target.version, target.vector_dim, checks())
        finally:
            target.templates.scratch.drop(db.name)
        rows: list[Violation] = [("writer error", e) for e in result.errors]
        rows += [("violation", result.violation)] if result.violation else []
        return Found(rows=rows, checked_rows=result.rows, examples=result.writers,
                     message="\n".join([*result.errors[:10], result.violation]).strip())

    return Check(
        "concurrent_registration", "concurrency",
        "8 writers introducing the same new tenants and kbs at once: every write succeeds, "
        "each tenant and kb is registered once, and every data check holds after",
        Needs.CHAIN, ("what", "detail"), detect=detect,
    )
