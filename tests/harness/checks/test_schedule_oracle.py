"""The committed-rows oracle on hand-made outcomes: what it must report and what it must leave
to timing. No database."""

from __future__ import annotations

from schema_kit.checks.schedule_oracle import committed_violations, footprint
from schema_kit.workload.oracle import Partition
from schema_kit.workload.scheduler import Ending, TransactionOutcome
from schema_kit.workload.schedules import Step

FULL = "lightrag_doc_full"


def _tx(session: int, *steps: Step) -> TransactionOutcome:
    return TransactionOutcome(session, 1, Ending.COMMITTED, steps)


def up(session: int, workspace: str, *ids: str) -> Step:
    return Step(session, "upsert", FULL, workspace, ids)


def test_a_transaction_alone_on_its_rows_must_have_left_exactly_them() -> None:
    tx = _tx(0, up(0, "t1:kb1", "r1", "r2"), Step(0, "delete", FULL, "t1:kb1", ("r2",)))
    kb = {Partition("t1", "kb1")}
    assert committed_violations([tx], {(FULL, "t1:kb1", "r1")}, kb) == []
    lost = committed_violations([tx], set(), kb)
    assert ("lost row", "('lightrag_doc_full', 't1:kb1', 'r1') written by s1 tx1, alone on it") \
        in lost
    extra = committed_violations([tx], {(FULL, "t1:kb1", "r1"), (FULL, "t1:kb1", "r2")}, kb)
    assert [what for what, _ in extra] == ["unexpected row"]


def test_rows_and_kbs_of_no_committed_transaction_are_reported() -> None:
    tx = _tx(0, up(0, "t1:kb1", "r1"))
    found = committed_violations(
        [tx], {(FULL, "t1:kb1", "r1"), (FULL, "t2:kb1", "r9")},
        {Partition("t1", "kb1"), Partition("t2", "kb1")})
    assert ("row of no committed transaction", "('lightrag_doc_full', 't2:kb1', 'r9')") in found
    assert ("kb registered by no committed transaction", "t2:kb1") in found


def test_rows_two_transactions_share_are_judged_only_where_every_order_agrees() -> None:
    a = _tx(0, up(0, "t1:kb1", "r1"))
    b = _tx(1, up(1, "t1:kb1", "r1", "r2"))
    kb = {Partition("t1", "kb1")}
    # Upserted by both, deleted by neither: present whatever the order.
    assert [w for w, _ in committed_violations([a, b], {(FULL, "t1:kb1", "r2")}, kb)] == [
        "lost row"]
    # A concurrent delete of the kb: under READ COMMITTED either outcome is possible.
    c = _tx(2, Step(2, "delete_kb", FULL, "t1:kb1"))
    assert committed_violations([a, b, c], set(), kb) == []
    assert committed_violations([a, b, c], {(FULL, "t1:kb1", "r1")}, kb) == []


def test_footprints_meet_through_rows_kbs_and_tenants() -> None:
    row = footprint((up(0, "t1:kb1", "r1"),))
    assert row.meets(footprint((Step(1, "delete_tenant", tenant="t1"),)))
    assert row.meets(footprint((Step(1, "delete_kb", FULL, "t1:kb1"),)))
    assert row.meets(footprint((Step(1, "move", FULL, "t2:kb1", ("r1",), "t1:kb1"),)))
    assert not row.meets(footprint((up(1, "t1:kb1", "r2"),)))
    assert not row.meets(footprint((Step(1, "delete_kb", "lightrag_doc_chunks", "t1:kb1"),)))
    assert not footprint((Step(1, "delete_tenant", tenant="t2"),)).meets(row)
