"""Concurrent writers introducing the same new tenants and kbs at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from schema_kit.checks import REGISTRY
from schema_kit.checks.concurrency import run_writers
from schema_kit.db.databases import Database
from schema_kit.workload.session import WriteSession
from schema_kit.workload.strategies import Batch
from schema_kit.workload.writes import Row

# Counts, version names and object names of schema_kit's own chain.
pytestmark = pytest.mark.our_chain

Factory = Callable[..., Database]


def test_eight_writers_register_each_tenant_once_and_lose_nothing(
    schema_kit_db_factory: Factory,
) -> None:
    result = run_writers(
        schema_kit_db_factory("head"), "head", 1024, REGISTRY.over_writes(), writers=8, rounds=5
    )
    assert result.errors == []  # no deadlock (40P01), no unique violation (23505)
    assert result.violation == ""  # every row present, registered, partitioned as the oracle says
    assert (result.tenants, result.kbs) == (4 * 5, 12 * 5)  # each registered exactly once
    assert result.rows == 8 * 5 * 36


def _write(session: WriteSession, workspace: str, row_id: str) -> str | None:
    """One single-row upsert, its own statement; the SQLSTATE-prefixed error, if refused."""
    [outcome] = session.write(Batch((Row("lightrag_doc_full", workspace, row_id, "x"),)))
    return outcome.error


@pytest.mark.parametrize(("version", "deadlocks"), [("3.2.0", True), ("head", False)])
def test_writers_introducing_tenants_over_two_statements_in_opposite_orders(
    schema_kit_db_factory: Factory, version: str, deadlocks: bool
) -> None:
    # The probe, shrunk: s1 writes t1, s2 writes t2, s1 writes t2, s2 writes t1.
    # Registration per statement (3.2.0) holds t1 and t2 across statements: a deadlock.
    # Registration at commit (3.3.0) holds no registry key before COMMIT: none.
    db = schema_kit_db_factory(version)
    with db.connect() as c1, db.connect() as c2:
        # s2 checks for a deadlock after 10 ms, s1 only after 30 s: the victim is s2, whose
        # step closes the cycle, and s1 goes on once s2 ends its transaction.
        c1.execute("SET deadlock_timeout = '30s'")
        c2.execute("SET deadlock_timeout = '10ms'")
        s1, s2 = (WriteSession(c, version, 1024, baseline=False) for c in (c1, c2))
        assert _write(s1, "t1:kb", "s1-a") is None
        assert _write(s2, "t2:kb", "s2-a") is None
        with ThreadPoolExecutor(1) as pool:
            third = pool.submit(_write, s1, "t2:kb", "s1-b")
            pid1 = c1.info.backend_pid
            deadline = time.monotonic() + 30
            while not third.done() and time.monotonic() < deadline:  # s1 waits, or is done
                blocked = c2.execute(
                    "SELECT pg_isolation_test_session_is_blocked(%s, %s)",
                    [pid1, [c2.info.backend_pid]],
                ).fetchone()
                if blocked and blocked[0]:
                    break
            fourth = _write(s2, "t1:kb", "s2-b")
            s2.commit()
            errors = [e for e in (third.result(timeout=30), fourth) if e is not None]
        s1.commit()
    if deadlocks:
        assert len(errors) == 1 and (fourth or "").startswith("40P01"), errors
    else:
        assert errors == []
        with db.connect() as conn:
            registered = conn.execute(
                "SELECT tenant_id, kb_id FROM knowledge_bases ORDER BY 1").fetchall()
            rows = conn.execute("SELECT count(*) FROM lightrag_doc_full").fetchone()
        assert registered == [("t1", "kb"), ("t2", "kb")]
        assert rows == (4,)
