"""Running a schedule deterministically: one connection and one thread per session, one step
issued at a time, and before the next one every running step has either finished or been
seen waiting for a lock (``pg_isolation_test_session_is_blocked``), as PostgreSQL's isolation
tester runs a permutation. A step issued to a session still waiting queues behind it.

Every session checks for a deadlock 10 ms after it starts waiting, and the runner lets that
check pass before issuing the next step: the session whose step closes a cycle is the victim,
so a schedule replays with the same victim every time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import re
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from schema_kit.errors import SchemaKitError
from schema_kit.workload.schedules import ISOLATIONS, Schedule, Step

__all__ = [
    "Ending",
    "ScheduleRun",
    "Sessions",
    "StepResult",
    "TransactionOutcome",
    "describe",
    "ending_of",
    "run_schedule",
]

DEADLOCK_TIMEOUT_MS = 10
_SETTLE_S = 4 * DEADLOCK_TIMEOUT_MS / 1000  # a blocked session's deadlock check has run
_STEP_LIMIT_S = 30.0
_BEGIN = {
    "": sql.SQL("BEGIN"),
    "repeatable read": sql.SQL("BEGIN ISOLATION LEVEL REPEATABLE READ"),
    "serializable": sql.SQL("BEGIN ISOLATION LEVEL SERIALIZABLE"),
}
assert set(_BEGIN) == {"", *ISOLATIONS}


class Ending(enum.Enum):
    """How a transaction ended."""

    COMMITTED = "committed"
    ROLLED_BACK = "rolled back"
    REFUSED = "refused by the contract"
    DEADLOCK = "deadlock victim"
    SERIALIZATION = "serialization failure"
    FAILED = "failed"


def ending_of(sqlstate: str | None) -> Ending:
    """The class of a transaction that ended in error ``sqlstate``."""
    if sqlstate == "40P01":
        return Ending.DEADLOCK
    if sqlstate == "40001":
        return Ending.SERIALIZATION
    # Bad data (22), integrity (23: a duplicate key on a move, a foreign key) and the
    # contract's own refusals (55000: a registry delete while keys await commit).
    if sqlstate is not None and (sqlstate[:2] in ("22", "23") or sqlstate == "55000"):
        return Ending.REFUSED
    return Ending.FAILED


@dataclass(frozen=True)
class StepResult:
    name: str
    step: Step
    error: str = ""  # "SQLSTATE: message" when the statement failed
    sqlstate: str | None = None
    waited: bool = False  # it was seen waiting for another session's lock
    skipped: bool = False  # its transaction had already failed: not sent
    cycle: str = ""  # a deadlock victim's: the server's account of the cycle, by session

    def summary(self) -> str:
        text = "skipped (transaction failed)" if self.skipped else (self.error or "ok")
        return f"{text} (waited)" if self.waited else text


@dataclass(frozen=True)
class TransactionOutcome:
    session: int
    number: int  # 1-based, within its session
    ending: Ending
    steps: tuple[Step, ...]  # its writes, in order
    error: str = ""
    step: str = ""  # the step that failed it


@dataclass
class ScheduleRun:
    results: list[StepResult] = field(default_factory=list)  # in issue order
    transactions: list[TransactionOutcome] = field(default_factory=list)
    stuck: str = ""  # the schedule could not finish (a wait no deadlock check resolved)

    def committed(self) -> list[TransactionOutcome]:
        return [t for t in self.transactions if t.ending is Ending.COMMITTED]

    def endings(self) -> list[Ending]:
        return [t.ending for t in self.transactions]


class _Session:
    def __init__(self, index: int, dsn: str) -> None:
        self.index = index
        self.conn = psycopg.connect(dsn, autocommit=True,
                                    application_name=f"schema_kit s{index + 1}")
        self.pid = self.conn.info.backend_pid
        self.pool = ThreadPoolExecutor(1, thread_name_prefix=f"schema_kit-s{index + 1}")
        # Not a superuser: the server's own deadlock_timeout applies.
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            self.conn.execute(sql.SQL("SET deadlock_timeout = {}").format(
                sql.Literal(f"{DEADLOCK_TIMEOUT_MS}ms")))
        self.conn.execute("SET statement_timeout = '60s'")
        self.restart()

    def restart(self) -> None:
        """Forget the last schedule (its connection is idle again)."""
        if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.conn.execute("ROLLBACK")
        self.pending: tuple[int, Future[StepResult]] | None = None
        self.backlog: deque[tuple[int, str, Step]] = deque()
        self.failed: StepResult | None = None
        self.writes: list[Step] = []
        self.outcomes: list[TransactionOutcome] = []

    def _end(self, ending: Ending, failed: StepResult | None = None) -> None:
        self.outcomes.append(TransactionOutcome(
            self.index, len(self.outcomes) + 1, ending, tuple(self.writes),
            failed.error if failed else "", failed.name if failed else ""))
        self.writes, self.failed = [], None

    def execute(self, name: str, step: Step, vector_dim: int) -> StepResult:
        if step.action == "begin":
            self.conn.execute(_BEGIN[step.target])
            return StepResult(name, step)
        if step.action in ("commit", "rollback"):
            if self.failed is not None:
                self.conn.execute("ROLLBACK")
                self._end(ending_of(self.failed.sqlstate), self.failed)
                return StepResult(name, step, skipped=step.action == "commit")
            if step.action == "rollback":
                self.conn.execute("ROLLBACK")
                self._end(Ending.ROLLED_BACK)
                return StepResult(name, step)
            try:
                self.conn.execute("COMMIT")
            except psycopg.Error as exc:
                result = self._error(name, step, exc)
                self._end(ending_of(exc.sqlstate), result)
                return result
            self._end(Ending.COMMITTED)
            return StepResult(name, step)
        if self.failed is not None:
            return StepResult(name, step, skipped=True)
        if step.action == "sql":  # read back from a spec: run as written
            # No parameters: a '%' in its literals is text, not a placeholder.
            query: Any = step.target.encode()
            params: list[Any] | None = None
        else:
            op = step.operation(vector_dim)
            assert op is not None
            query, params = op.query()
            self.writes.append(step)
        try:
            self.conn.execute(query, params)
        except psycopg.Error as exc:
            self.failed = self._error(name, step, exc)
            return self.failed
        return StepResult(name, step)

    @staticmethod
    def _error(name: str, step: Step, exc: psycopg.Error) -> StepResult:
        cycle = (exc.diag.message_detail or "") if exc.sqlstate == "40P01" else ""
        return StepResult(name, step, f"{exc.sqlstate}: {exc.diag.message_primary}",
                          exc.sqlstate, cycle=cycle)

    def close(self) -> None:
        if self.pending is not None and not self.pending[1].done():
            self.conn.cancel_safe()
        self.pool.shutdown(wait=True)
        self.conn.close()


class Sessions:
    """Connections for up to ``count`` sessions and a monitor, kept across schedules (opening
    them costs more than running a short schedule); close() ends them all."""

    def __init__(self, dsn: str, count: int) -> None:
        self.dsn = dsn
        self.sessions: list[_Session] = []
        try:
            self.monitor = psycopg.connect(dsn, autocommit=True)
            self.sessions = [_Session(n, dsn) for n in range(count)]
        except psycopg.OperationalError as exc:
            self.close()
            raise SchemaKitError(
                f"cannot open {count} schedule sessions on {dsn!r}: {exc}; remedy: check the "
                "server's max_connections and that the database exists") from exc

    def __enter__(self) -> Sessions:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        for session in self.sessions:
            session.close()
        self.sessions = []
        if getattr(self, "monitor", None) is not None:
            self.monitor.close()


class _Runner:
    def __init__(self, pool: Sessions, schedule: Schedule, vector_dim: int) -> None:
        if len(schedule.sessions) > len(pool.sessions):
            raise ValueError(f"the schedule has {len(schedule.sessions)} sessions, the pool "
                             f"only {len(pool.sessions)}")
        self.schedule, self.vector_dim = schedule, vector_dim
        self.monitor = pool.monitor
        self.sessions = pool.sessions[:len(schedule.sessions)]
        for session in pool.sessions:  # the unused ones too: none may hold a lock
            session.restart()
        # The deadlock detector names backends by pid; a replay names them by session.
        self.names = {s.pid: f"s{s.index + 1}" for s in pool.sessions}
        self.names[pool.monitor.info.backend_pid] = "the runner's monitor"
        self.results: dict[int, StepResult] = {}
        self.waited: set[int] = set()

    def _name(self, match: re.Match[str]) -> str:
        return self.names.get(int(match.group(1)), f"backend {match.group(1)}")

    def _start(self, session: _Session, position: int, name: str, step: Step) -> None:
        session.pending = (position, session.pool.submit(session.execute, name, step,
                                                         self.vector_dim))

    def _blocked(self, session: _Session) -> bool:
        others = [s.pid for s in self.sessions if s is not session]
        row = self.monitor.execute(
            "SELECT pg_isolation_test_session_is_blocked(%s, %s)", [session.pid, others]
        ).fetchone()
        return bool(row and row[0])

    def _collect(self) -> bool:
        """Take finished steps' results and start queued steps; True if anything moved."""
        moved = False
        for session in self.sessions:
            if session.pending is not None and session.pending[1].done():
                position, future = session.pending
                result = future.result()
                if position in self.waited or result.cycle:
                    result = dataclasses.replace(
                        result, waited=result.waited or position in self.waited,
                        cycle=re.sub(r"\b[Pp]rocess (\d+)", self._name, result.cycle))
                self.results[position] = result
                session.pending = None
                moved = True
            if session.pending is None and session.backlog:
                self._start(session, *session.backlog.popleft())
                moved = True
        return moved

    def settle(self) -> None:
        """Return once every running step has finished or waits, its deadlock check done."""
        deadline = time.monotonic() + _STEP_LIMIT_S
        while True:
            if self._collect():
                continue
            busy = [s for s in self.sessions if s.pending is not None]
            if not busy:
                return
            blocked = [s for s in busy if self._blocked(s)]
            if len(blocked) == len(busy):
                new = {s.pending[0] for s in blocked if s.pending} - self.waited
                if not new:
                    return
                self.waited |= new
                time.sleep(_SETTLE_S)  # their deadlock checks run; a victim's step ends
                continue
            if time.monotonic() > deadline:
                raise TimeoutError("a step neither finished nor waited for a lock in "
                                   f"{_STEP_LIMIT_S:.0f} s")
            time.sleep(0.001)

    def run(self) -> ScheduleRun:
        run = ScheduleRun()
        try:
            for position, (name, step) in enumerate(self.schedule.issued()):
                session = self.sessions[step.session]
                if session.pending is not None:  # still waiting: the step queues behind
                    session.backlog.append((position, name, step))
                else:
                    self._start(session, position, name, step)
                self.settle()
            if any(s.pending is not None for s in self.sessions):
                run.stuck = "sessions still waiting after the last step: " + ", ".join(
                    f"s{s.index + 1}" for s in self.sessions if s.pending is not None)
        except TimeoutError as exc:
            run.stuck = str(exc)
        run.results = [self.results[p] for p in sorted(self.results)]
        run.transactions = [t for s in self.sessions for t in s.outcomes]
        return run



def run_schedule(
    target: str | Sessions, schedule: Schedule, vector_dim: int = 1024
) -> ScheduleRun:
    """Run ``schedule`` on the sessions of ``target`` (or new ones on the database a dsn
    reaches, closed after); a step still waiting at the end is cancelled."""
    if isinstance(target, str):
        with Sessions(target, len(schedule.sessions)) as pool:
            return run_schedule(pool, schedule, vector_dim)
    runner = _Runner(target, schedule, vector_dim)
    try:
        return runner.run()
    finally:
        for session in runner.sessions:
            if session.pending is not None:
                session.conn.cancel_safe()
                with contextlib.suppress(psycopg.Error):
                    session.pending[1].result(timeout=_STEP_LIMIT_S)
                session.pending = None


def describe(run: ScheduleRun) -> list[str]:
    """One line per transaction: ``s2 tx1: deadlock victim at s2_3 (40P01: ...)``."""
    lines = []
    for t in run.transactions:
        where = f" at {t.step} ({t.error})" if t.error else ""
        lines.append(f"s{t.session + 1} tx{t.number}: {t.ending.value}{where}")
    return lines
