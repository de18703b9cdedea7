"""Running registered checks: over a write session (raising with a replay), model-free over a
live database (audit), and on a chain at a version (verify, the mutation self-test).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg

from schema_kit.checks.registry import Check, DataTarget, Found, InvariantError
from schema_kit.checks.replay import replay_command, write_replay
from schema_kit.workload.session import WriteSession
from schema_kit.workload.tables import tenant_tables

__all__ = ["assert_invariants_hold", "session_target", "violations_in"]


def session_target(session: WriteSession) -> DataTarget:
    """The database behind ``session`` as its checks see it: tables, model, what was sent,
    with what COMMIT would run already run (``WriteSession.settle``)."""
    session.settle()
    return DataTarget(
        session.conn, session.tables, session.model, frozenset(session.sent),
        tuple(session.refusals),
    )


def _ordered(checks: Iterable[Check]) -> list[Check]:
    # A write the contract accepts but the database refused explains every later violation:
    # it is reported first.
    checks = list(checks)
    return sorted(checks, key=lambda c: c.name != "acceptance")


def assert_invariants_hold(
    session: WriteSession, checks: Iterable[Check], replay_dir: Path
) -> None:
    """Run each check over ``session``'s database; on the first with violations write its
    replay script (``<check>-<version>.sql`` under ``replay_dir``, naming the session's sql
    dir) and raise InvariantError (sections: invariant, expected, found, replay)."""
    target = session_target(session)
    for check in _ordered(checks):
        rows = check.run(target)
        if not rows:
            continue
        if check.query is not None:
            query = check.query(target).as_string(session.conn)
        else:
            query = "SELECT 'the statements marked refused above'"
        path = write_replay(
            replay_dir, session.recorder, check.name, session.version, session.vector_dim, query,
            session.sql_dir,
        )
        raise InvariantError(check, session.version, rows, replay_command(path, session.vector_dim))


def violations_in(conn: psycopg.Connection[Any], check: Check) -> Found:
    """A model-free check over every row stored in ``conn``'s database (audit)."""
    skipped = check.skip_when(conn) if check.skip_when is not None else None
    if skipped:
        return Found(skipped=skipped)
    tables = tenant_tables(conn)
    if not tables:
        return Found(skipped="no table under the tenant contract (workspace + STORED tenant_id)")
    rows = check.run(DataTarget(conn, tables))
    return Found(rows=rows, checked_rows=0)
