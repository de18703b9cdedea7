"""The Hypothesis properties, as library code: pytest's tests and ``schema-kit verify`` both
run these, so a release is verified by exactly the checks CI runs.

Their settings descend from a schema_kit profile (``workload.profiles.hypothesis_settings``),
given or the selected one, never from the run's current Hypothesis profile: that one is the
project's, and a ``pytest`` and a ``verify`` at the same profile must run the same examples.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.stateful import run_state_machine_as_test

from schema_kit.checks.registry import Check, Found, InvariantError
from schema_kit.checks.runner import assert_invariants_hold
from schema_kit.db.databases import Database
from schema_kit.db.harness import Harness
from schema_kit.workload.examples import Scoped
from schema_kit.workload.profiles import hypothesis_settings
from schema_kit.workload.session import WriteSession
from schema_kit.workload.stateful import machine_for
from schema_kit.workload.strategies import Batch, batches

__all__ = ["check_batch", "overrides_for", "quiet_reprs", "run_batch_property", "run_stateful"]

SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def check_batch(
    conn: psycopg.Connection[Any], version: str, vector_dim: int, batch: Batch,
    checks: Sequence[Check], replay_dir: Path, sql_dir: Path | None = None,
) -> WriteSession:
    """Write ``batch`` as LightRAG would, run ``checks``, roll everything back; a replay
    names ``sql_dir``, the chain that built the database."""
    session = WriteSession(conn, version, vector_dim, sql_dir=sql_dir)
    try:
        session.write(batch)
        assert_invariants_hold(session, checks, replay_dir)
        return session
    finally:
        conn.rollback()


def _failed(exc: InvariantError, examples: int, rows: int, first: int = 0) -> Found:
    replay = exc.replay.rsplit(" -f ", 1)[-1]
    return Found(rows=exc.rows, examples=examples, checked_rows=rows, message=str(exc),
                 replay=replay, first_failure=first)


def overrides_for(
    base: settings, scope: str, max_examples: int | None, shrink: bool
) -> dict[str, Any]:
    overrides: dict[str, Any] = {"suppress_health_check": SUPPRESS}
    if base.database is not None:
        # verify's properties are one function for every check: give each its own key.
        overrides["database"] = Scoped(base.database, scope)
    if max_examples is not None:
        overrides["max_examples"] = max_examples
    if not shrink:
        overrides["phases"] = [Phase.explicit, Phase.reuse, Phase.generate]
    return overrides


@contextlib.contextmanager
def quiet_reprs() -> Iterator[None]:
    # An unshrunk failing batch holds hundreds of rows; Hypothesis warns that printing it is
    # expensive. The report carries the replay script instead, so the warning is noise here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Generating overly large repr")
        yield


def run_batch_property(
    check: Check, db: Database, version: str, vector_dim: int, replay_dir: Path,
    max_examples: int | None = None, shrink: bool = True, parent: settings | None = None,
    sql_dir: Path | None = None,
) -> Found:
    """Hypothesis over multi-tenant batches for one check, with ``parent`` (default: the
    selected schema_kit profile's settings)."""
    counts: list[int] = []
    runs, first = [0], [0]  # examples run; the number of the first that failed
    base = parent if parent is not None else hypothesis_settings()
    with db.connect() as conn:

        @settings(base, **overrides_for(base, f"{check.name}@{version}", max_examples, shrink))
        @given(batch=batches())
        def prop(batch: Batch) -> None:
            runs[0] += 1
            try:
                session = check_batch(conn, version, vector_dim, batch, [check], replay_dir,
                                      sql_dir)
            except InvariantError:
                first[0] = first[0] or runs[0]
                raise
            counts.append(session.checked_rows())

        try:
            with quiet_reprs():
                prop()
        except InvariantError as exc:
            return _failed(exc, len(counts), sum(counts), first[0])
    return Found(examples=len(counts), checked_rows=sum(counts))


def run_stateful(
    harness: Harness, version: str, checks: Sequence[Check], max_examples: int | None = None,
    shrink: bool = True, parent: settings | None = None,
) -> Found:
    """The LightRAG workload state machine, ``checks`` after every step; a failure carries
    its replay. ``parent`` defaults to the selected schema_kit profile's stateful settings
    (fewer runs than a batch property has examples)."""
    base = parent if parent is not None else hypothesis_settings(stateful=True)
    run_settings = settings(base, **overrides_for(base, f"stateful@{version}", max_examples,
                                               shrink))
    replay_dir = harness.settings.replay_dir

    def check(session: WriteSession) -> None:
        assert_invariants_hold(session, checks, replay_dir)

    try:
        with quiet_reprs():
            run_state_machine_as_test(  # type: ignore[no-untyped-call]
                machine_for(harness, version, check), settings=run_settings
            )
    except InvariantError as exc:
        return _failed(exc, 0, 0)
    return Found(examples=run_settings.max_examples)
