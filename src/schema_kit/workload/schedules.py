"""Concurrent schedules of LightRAG's operations, in the manner of PostgreSQL's isolation tester.

A schedule is a few sessions, each a list of steps (BEGIN, writes, COMMIT or ROLLBACK), and an
interleaving: the order the steps are issued in. ``schedules()`` draws them with Hypothesis
over a small pool of tenants, kbs and row ids, so sessions meet on the same registry keys and
the same rows; ``to_spec`` and ``listing`` write one as a replay anyone can run or read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from hypothesis import strategies as st

from schema_kit.workload.oracle import Partition, parse
from schema_kit.workload.writes import (
    Delete,
    DeleteTenant,
    DeleteWorkspace,
    Move,
    Operation,
    Row,
    Upsert,
)

__all__ = [
    "ACTIONS",
    "ISOLATIONS",
    "MAX_SESSIONS",
    "POOL",
    "PROBES",
    "REGISTRATION_ACTIONS",
    "TABLES",
    "TENANTS",
    "Schedule",
    "Step",
    "schedules",
]

# Simplest first: Hypothesis shrinks a drawn action towards the start of the tuple.
ACTIONS = ("upsert_one", "upsert", "move", "delete", "delete_kb", "delete_tenant")
# What introduces tenants and kbs: the family a registration deadlock can come from.
REGISTRATION_ACTIONS = ("upsert_one", "upsert")
TENANTS = ("t1", "t2", "t3")
KBS = ("kb1", "kb2")
IDS = ("r1", "r2", "r3")
TABLES = ("lightrag_doc_full", "lightrag_doc_chunks")
POOL = tuple(f"{t}:{k}" for t in TENANTS for k in KBS)
MAX_SESSIONS = 6
ISOLATIONS = ("repeatable read", "serializable")


@dataclass(frozen=True)
class Step:
    """One step of one session: ``action`` is BEGIN/COMMIT/ROLLBACK, one of ACTIONS, or
    ``sql``: a statement read back from a spec, its text in ``target``."""

    session: int
    action: str
    table: str = ""
    workspace: str = ""
    ids: tuple[str, ...] = ()
    target: str = ""  # a move's new workspace; an sql step's statement; BEGIN's isolation
    tenant: str = ""  # delete_tenant's tenant

    def operation(self, vector_dim: int = 1024) -> Operation | None:
        """The statement LightRAG would send (None for BEGIN, COMMIT, ROLLBACK)."""
        if self.action in ("upsert", "upsert_one"):
            rows = tuple(Row(self.table, self.workspace, i, f"s{self.session + 1}")
                         for i in self.ids)
            return Upsert(self.table, rows, vector_dim)
        if self.action == "move":
            return Move(self.table, self.workspace, self.target, self.ids)
        if self.action == "delete":
            return Delete(self.table, self.workspace, self.ids)
        if self.action == "delete_kb":
            return DeleteWorkspace(self.table, self.workspace)
        if self.action == "delete_tenant":
            return DeleteTenant(self.tenant)
        return None

    def describe(self) -> str:
        ids = ", ".join(self.ids)
        where = f"{self.table} {self.workspace!r}"
        return {
            "begin": f"BEGIN ISOLATION LEVEL {self.target.upper()}" if self.target else "BEGIN",
            "commit": "COMMIT",
            "rollback": "ROLLBACK",
            "upsert": f"upsert ({ids}) into {where}",
            "upsert_one": f"upsert ({ids}) into {where}",
            "move": f"move ({ids}) of {where} to {self.target!r}",
            "delete": f"delete ({ids}) from {where}",
            "delete_kb": f"delete the kb's rows: {where}",
            "delete_tenant": f"delete tenant {self.tenant!r}",
            "sql": self.target[:120],
        }[self.action]

    def partitions(self) -> set[Partition]:
        """The (tenant, kb) keys this step writes rows into."""
        written = self.target if self.action == "move" else self.workspace
        if self.action not in ("upsert", "upsert_one", "move"):
            return set()
        partition = parse(written)
        return {partition} if partition is not None else set()


@dataclass(frozen=True)
class Schedule:
    """Each session's steps, and the order they are issued in (a session index per step)."""

    sessions: tuple[tuple[Step, ...], ...]
    order: tuple[int, ...]

    def __post_init__(self) -> None:
        counts = [self.order.count(n) for n in range(len(self.sessions))]
        if counts != [len(s) for s in self.sessions]:
            raise ValueError(
                f"order={self.order!r} must issue each session's steps exactly once "
                f"(steps per session: {[len(s) for s in self.sessions]})"
            )

    def issued(self) -> Iterator[tuple[str, Step]]:
        """``(name, step)`` in the order issued; names are ``s<session>_<n>`` (1-based)."""
        taken = [0] * len(self.sessions)
        for n in self.order:
            step = self.sessions[n][taken[n]]
            taken[n] += 1
            yield f"s{n + 1}_{taken[n]}", step

    def partitions(self) -> set[Partition]:
        return {p for steps in self.sessions for s in steps for p in s.partitions()}

    def __len__(self) -> int:
        return len(self.order)


@st.composite
def _operation(
    draw: st.DrawFn, session: int, actions: Sequence[str], tenants: Sequence[str],
    kbs: Sequence[str],
) -> Step:
    action = draw(st.sampled_from(actions))
    table = draw(st.sampled_from(TABLES))
    pool = [f"{t}:{k}" for t in tenants for k in kbs]
    workspace = draw(st.sampled_from(pool))
    if action == "delete_tenant":
        return Step(session, action, tenant=draw(st.sampled_from(tenants)))
    if action == "delete_kb":
        return Step(session, action, table, workspace)
    size = (1, 1) if action == "upsert_one" else (2, 3) if action == "upsert" else (1, 2)
    ids = tuple(draw(st.lists(st.sampled_from(IDS), min_size=size[0], max_size=size[1],
                              unique=True)))
    target = draw(st.sampled_from(pool)) if action == "move" else ""
    return Step(session, action, table, workspace, ids, target)


def schedules(
    *,
    min_sessions: int = 2,
    max_sessions: int = 3,
    max_transactions: int = 2,
    max_ops: int = 4,
    actions: Sequence[str] = ACTIONS,
    tenants: Sequence[str] = TENANTS,
    kbs: Sequence[str] = KBS,
    isolations: Sequence[str] = ("",),
) -> st.SearchStrategy[Schedule]:
    """A schedule of ``min_sessions`` to ``max_sessions`` sessions, each 1 to
    ``max_transactions`` transactions of 1 to ``max_ops`` of ``actions``, and an interleaving
    of their steps, over workspaces of ``tenants`` x ``kbs`` (subsets of the pool); each
    transaction BEGINs at one of ``isolations`` ("": the session's default, READ COMMITTED,
    as LightRAG's; or ISOLATIONS)."""
    if not 1 <= min_sessions <= max_sessions:
        raise ValueError(f"min_sessions={min_sessions} must be >= 1 and <= "
                         f"max_sessions={max_sessions}")
    if max_sessions > MAX_SESSIONS:
        raise ValueError(f"max_sessions={max_sessions} must be <= {MAX_SESSIONS}")
    if max_transactions < 1 or max_ops < 1:
        raise ValueError(f"max_transactions={max_transactions} and max_ops={max_ops} must "
                         "be >= 1")
    unknown = sorted(set(actions) - set(ACTIONS))
    if unknown or not actions:
        raise ValueError(f"actions={tuple(actions)!r} must be drawn from {ACTIONS}")
    if not tenants or not set(tenants) <= set(TENANTS) or not kbs or not set(kbs) <= set(KBS):
        raise ValueError(f"tenants={tuple(tenants)!r} and kbs={tuple(kbs)!r} must be non-empty "
                         f"subsets of {TENANTS} and {KBS}")
    if not isolations or not set(isolations) <= {"", *ISOLATIONS}:
        raise ValueError(f"isolations={tuple(isolations)!r} must be non-empty and drawn from "
                         f"{('', *ISOLATIONS)}")
    return _schedules(min_sessions, max_sessions, max_transactions, max_ops, tuple(actions),
                      tuple(tenants), tuple(kbs), tuple(isolations))


@st.composite
def _schedules(
    draw: st.DrawFn, min_sessions: int, max_sessions: int, max_transactions: int,
    max_ops: int, actions: tuple[str, ...], tenants: tuple[str, ...], kbs: tuple[str, ...],
    isolations: tuple[str, ...],
) -> Schedule:
    # Each step is drawn with a priority, and sessions, transactions and writes are lists,
    # so shrinking deletes a step with its priority; the order issues, at each point, the next
    # step of lowest priority, the lower session on a tie. All zero: s1's steps, then s2's...
    # Swarm testing: each schedule draws a subset of the actions, tenants and kbs, so some
    # are all upserts into two workspaces (contention) and others mix every operation.
    actions = tuple(draw(st.lists(st.sampled_from(actions), min_size=1, unique=True)))
    tenants = tuple(draw(st.lists(st.sampled_from(tenants), min_size=1, unique=True)))
    kbs = tuple(draw(st.lists(st.sampled_from(kbs), min_size=1, unique=True)))
    rank = st.integers(0, 3)
    ranked_op = st.tuples(_operation(0, actions, tenants, kbs), rank)
    transaction = st.tuples(
        st.sampled_from(isolations), rank, st.lists(ranked_op, min_size=1, max_size=max_ops),
        # Mostly COMMIT: that is where registration happens and what the oracle judges.
        st.sampled_from(("commit", "commit", "commit", "rollback")), rank,
    ).map(lambda t: [(Step(0, "begin", target=t[0]), t[1]), *t[2], (Step(0, t[3]), t[4])])
    session = st.lists(transaction, min_size=1, max_size=max_transactions).map(
        lambda txs: [step for tx in txs for step in tx])
    drawn = draw(st.lists(session, min_size=min_sessions, max_size=max_sessions))
    sessions = [tuple(dataclasses.replace(step, session=n) for step, _ in steps)
                for n, steps in enumerate(drawn)]
    priorities = [[r for _, r in steps] for steps in drawn]
    taken = [0] * len(sessions)
    order: list[int] = []
    while len(order) < sum(map(len, sessions)):
        chosen = min((priorities[n][taken[n]], n) for n in range(len(sessions))
                     if taken[n] < len(sessions[n]))[1]
        taken[chosen] += 1
        order.append(chosen)
    return Schedule(tuple(sessions), tuple(order))


def _upserts(session: int, *writes: tuple[str, str, str]) -> tuple[Step, ...]:
    """BEGIN, one single-row upsert per ``(table, workspace, id)``, COMMIT."""
    return (Step(session, "begin"),
            *(Step(session, "upsert_one", t, w, (i,)) for t, w, i in writes),
            Step(session, "commit"))


_FULL, _CHUNKS = TABLES
# Known schedules every run tries first (Hypothesis' explicit examples), then generated ones:
PROBES = (
    # The load issue's probe, shrunk: two sessions introduce t1 and t2 in opposite orders.
    # Registration per statement holds each tenant's key to COMMIT: a deadlock.
    Schedule((_upserts(0, (_FULL, "t1:kb1", "r1"), (_FULL, "t2:kb1", "r1")),
              _upserts(1, (_FULL, "t2:kb1", "r2"), (_FULL, "t1:kb1", "r2"))),
             (0, 1, 0, 1, 0, 1, 0, 1)),
    # One new tenant, two tables: s2 waits for s1's registration of t1, then s1 for s2's
    # row (shrunk by Hypothesis from a generated schedule at 3.2.0).
    Schedule((_upserts(0, (_FULL, "t1:kb1", "r1"), (_CHUNKS, "t1:kb1", "r1")),
              _upserts(1, (_CHUNKS, "t1:kb1", "r1"))),
             (0, 0, 1, 1, 0, 0, 1)),
    # Inherent: the same two rows upserted in opposite orders deadlock with or without
    # registration; the classifier must count it, not fail it.
    Schedule((_upserts(0, (_FULL, "t1:kb1", "r1"), (_FULL, "t1:kb1", "r2")),
              _upserts(1, (_FULL, "t1:kb1", "r2"), (_FULL, "t1:kb1", "r1"))),
             (0, 1, 0, 1, 0, 1, 0, 1)),
)
