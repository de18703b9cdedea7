"""Invariant 8 over generated concurrent schedules: at head every schedule holds (a deadlock
only where PostgreSQL's row locks make it inherent); at the seed registration deadlocks.

The classifier, the oracle's verdicts and the spec replay are shown on known schedules
(``PROBES``) so each test names the behaviour it proves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import settings

from schema_kit.checks import REGISTRY, ChainTarget
from schema_kit.checks.deadlocks import INHERENT, TENANT_DELETED, reset
from schema_kit.checks.schedules import Examined, examine, run_schedules, write_replay
from schema_kit.connect import connect
from schema_kit.db.harness import Harness
from schema_kit.workload.profiles import hypothesis_settings
from schema_kit.workload.schedule_spec import from_spec
from schema_kit.workload.scheduler import Ending, Sessions, run_schedule
from schema_kit.workload.schedules import (
    PROBES,
    REGISTRATION_ACTIONS,
    Schedule,
    Step,
    schedules,
)
from tests.schema.seed import seed_and_head

CHECK = REGISTRY["concurrent_schedules"]
MODEL_FREE = [c for c in REGISTRY.over_writes() if c.needs.name == "DATABASE"]
OPPOSITE_TENANTS, ONE_NEW_TENANT, OPPOSITE_ROWS = PROBES


@pytest.mark.parametrize("version", seed_and_head("schedules"))
def test_generated_schedules_hold(
    schema_kit_harness: Harness, version: str, tmp_path: Path
) -> None:
    target = ChainTarget(schema_kit_harness.templates, version,
                         schema_kit_harness.settings.vector_dim, tmp_path)
    found = run_schedules(CHECK, target, REGISTRY.over_writes(), raise_failure=True)
    assert found.examples >= len(PROBES)
    # The inherent probe ran and was counted as such, not failed.
    assert found.detail[INHERENT] >= 1


@contextmanager
def _sessions(
    harness: Harness, version: str, count: int = 2
) -> Iterator[tuple[Sessions, psycopg.Connection[Any]]]:
    """``count`` schedule sessions and a judging connection on a fresh clone at ``version``."""
    db = harness.templates.clone(version, purpose="sched")
    try:
        with Sessions(db.dsn, count) as pool, connect(db.dsn) as conn:
            yield pool, conn
    finally:
        harness.scratch.drop(db.name)


def _examine(harness: Harness, version: str, schedule: Schedule) -> Examined:
    with _sessions(harness, version, len(schedule.sessions)) as (pool, conn):
        return examine(pool, conn, schedule, harness.settings.vector_dim, MODEL_FREE)


@pytest.mark.our_chain
def test_registration_deadlock_at_3_2_0_is_blamed_on_registration_and_replays_from_its_spec(
    schema_kit_harness: Harness, tmp_path: Path
) -> None:
    with _sessions(schema_kit_harness, "3.2.0") as (pool, conn):
        examined = examine(pool, conn, OPPOSITE_TENANTS, 1024, MODEL_FREE)
        target = ChainTarget(schema_kit_harness.templates, "3.2.0", 1024, tmp_path)
        replay = write_replay(target, conn, examined)
        spec = (tmp_path / "concurrent_schedules-3.2.0.spec").read_text()
        assert replay.startswith(str(tmp_path / "concurrent_schedules-3.2.0.spec"))
        # Anyone can replay the spec: the same steps, the same victim.
        reset(conn)
        again = run_schedule(pool, from_spec(spec))
    assert [w for w, _ in examined.violations] == ["registration caused a deadlock"]
    # s2's second step closes the cycle: it is the victim, s1 commits.
    assert examined.run.endings() == [Ending.COMMITTED, Ending.DEADLOCK]
    assert [t.step for t in examined.run.transactions] == ["", "s2_3"]
    assert again.endings() == examined.run.endings()
    assert [r.sqlstate for r in again.results] == [r.sqlstate for r in examined.run.results]
    assert "permutation s1_1 s2_1 s1_2 s2_2 s1_3 s2_3 s1_4 s2_4" in spec
    listing = (tmp_path / "concurrent_schedules-3.2.0.txt").read_text()
    assert "s2_3   upsert (r2) into lightrag_doc_full 't1:kb1'  -> 40P01" in listing


def test_the_same_schedule_runs_the_same_way_every_time(schema_kit_harness: Harness) -> None:
    runs = []
    for _ in range(3):
        examined = _examine(schema_kit_harness, "head", OPPOSITE_ROWS)
        runs.append([(r.name, r.sqlstate, r.waited, r.skipped) for r in examined.run.results])
    assert runs[0] == runs[1] == runs[2]
    # s1_3 waits for s2's r2, s2_3 closes the cycle and is the victim.
    assert [(name, state, waited) for name, state, waited, _ in runs[0][4:6]] == [
        ("s1_3", None, True), ("s2_3", "40P01", True)]


def test_an_inherent_deadlock_is_counted_not_failed(schema_kit_harness: Harness) -> None:
    examined = _examine(schema_kit_harness, "head", OPPOSITE_ROWS)
    assert examined.violations == []
    assert examined.classes == {"committed": 1, INHERENT: 1}


@pytest.mark.our_chain
def test_a_registry_delete_awaiting_commit_is_refused_and_rolled_back_work_leaves_nothing(
    schema_kit_harness: Harness,
) -> None:
    s1 = (Step(0, "begin"), Step(0, "upsert", "lightrag_doc_full", "t1:kb1", ("r1", "r2")),
          Step(0, "rollback"))
    s2 = (Step(1, "begin"), Step(1, "upsert_one", "lightrag_doc_full", "t2:kb1", ("r1",)),
          Step(1, "delete_tenant", tenant="t3"), Step(1, "commit"))
    s3 = (Step(2, "begin"), Step(2, "upsert_one", "lightrag_doc_chunks", "t3:kb2", ("r1",)),
          Step(2, "commit"))
    schedule = Schedule((s1, s2, s3), (0, 1, 2, 0, 1, 2, 1, 0, 2, 1))
    with _sessions(schema_kit_harness, "head", 3) as (pool, conn):
        examined = examine(pool, conn, schedule, 1024, MODEL_FREE)
        rows = conn.execute("SELECT workspace, id FROM lightrag_doc_full UNION ALL "
                            "SELECT workspace, id FROM lightrag_doc_chunks").fetchall()
        kbs = conn.execute("SELECT tenant_id, kb_id FROM knowledge_bases").fetchall()
    assert examined.violations == []
    assert examined.run.endings() == [Ending.ROLLED_BACK, Ending.REFUSED, Ending.COMMITTED]
    assert examined.run.transactions[1].error.startswith("55000")
    assert rows == [("t3:kb2", "r1")] and kbs == [("t3", "kb2")]


@pytest.mark.slow
@pytest.mark.our_chain
def test_generation_alone_finds_the_seed_deadlock_and_shrinks_it(
    schema_kit_harness: Harness, tmp_path: Path
) -> None:
    """No known probe: Hypothesis finds a registration deadlock at the seed, shrinks it and
    writes a spec that deadlocks again when replayed (marker slow: 40 to 100 s here; 1.9 % of
    the schedules this strategy draws have the opposite-order pattern; the first failing one
    was number 288, 295 or 383 in three runs, and the shrunk schedule had 8, 9 or 10 steps)."""
    target = ChainTarget(schema_kit_harness.templates, "3.0.0", 1024, tmp_path)
    drawn = schedules(actions=REGISTRATION_ACTIONS, max_sessions=2, max_transactions=1,
                      tenants=("t1", "t2"), kbs=("kb1",))
    # No example database: a failure stored by an earlier run (or by the seed's xfail test,
    # under the same key in CI's shared Redis) would be replayed first and prove nothing.
    alone = settings(hypothesis_settings(), database=None)
    found = run_schedules(CHECK, target, MODEL_FREE, drawn, max_examples=2500, explicit=(),
                          parent=alone)
    assert [w for w, _ in found.rows] == ["registration caused a deadlock"]
    shrunk = from_spec((tmp_path / "concurrent_schedules-3.0.0.spec").read_text())
    # Smaller than the strategy allows (12 steps), and the spec alone reproduces it.
    assert len(shrunk) < 12
    with _sessions(schema_kit_harness, "3.0.0") as (pool, conn):
        reset(conn)
        again = run_schedule(pool, shrunk)
    assert Ending.DEADLOCK in again.endings()


def _up(session: int, workspace: str, *ids: str) -> Step:
    return Step(session, "upsert_one" if len(ids) == 1 else "upsert", "lightrag_doc_full",
                workspace, ids)


@pytest.mark.our_chain
def test_a_tenant_deleted_while_another_session_writes_it_deadlocks_inherently(
    schema_kit_harness: Harness,
) -> None:
    # As verify's thorough run at head found it: s1 deletes t1 (which its first transaction
    # registered), then waits for s2's uncommitted row r2; s2's COMMIT registers t1 again and
    # waits for s1's delete of it. Pre-registering t1 changes what s2's own delete of t1
    # does, so the replay cannot tell; the foreign key would make s2 wait the same way.
    s1 = (Step(0, "begin"), _up(0, "t1:kb1", "r1"), Step(0, "commit"), Step(0, "begin"),
          _up(0, "t1:kb1", "r1"), Step(0, "delete_tenant", tenant="t1"),
          _up(0, "t1:kb1", "r1", "r2"), Step(0, "commit"))
    s2 = (Step(1, "begin"), _up(1, "t1:kb1", "r1"), Step(1, "rollback"), Step(1, "begin"),
          Step(1, "delete_tenant", tenant="t1"), _up(1, "t1:kb1", "r2"),
          Step(1, "delete", "lightrag_doc_full", "t1:kb1", ("r1",)), Step(1, "commit"))
    schedule = Schedule((s1, s2), (0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1))
    examined = _examine(schema_kit_harness, "head", schedule)
    assert examined.run.endings() == [Ending.COMMITTED, Ending.COMMITTED, Ending.ROLLED_BACK,
                                      Ending.DEADLOCK]
    assert examined.run.transactions[3].step == "s2_8"  # its COMMIT
    assert examined.violations == []
    assert examined.classes == {"committed": 2, "rolled back": 1, TENANT_DELETED: 1}


@pytest.mark.our_chain
def test_repeatable_read_meeting_a_tenant_committed_after_its_snapshot_cannot_serialize(
    schema_kit_harness: Harness,
) -> None:
    # At commit, registering t1 meets the row another session committed after this
    # transaction's snapshot: under REPEATABLE READ, ON CONFLICT cannot see it (40001).
    s1 = (Step(0, "begin", target="repeatable read"), _up(0, "t1:kb1", "r1"), Step(0, "commit"))
    s2 = (Step(1, "begin"), _up(1, "t1:kb1", "r2"), Step(1, "commit"))
    schedule = Schedule((s1, s2), (0, 0, 1, 1, 1, 0))
    examined = _examine(schema_kit_harness, "head", schedule)
    assert examined.run.endings() == [Ending.SERIALIZATION, Ending.COMMITTED]
    assert examined.run.transactions[0].error.startswith("40001")
    assert examined.violations == []
    assert examined.classes == {"committed": 1, "serialization failure": 1}
