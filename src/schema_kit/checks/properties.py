"""The Hypothesis properties, as library code: pytest's tests and ``schema-kit verify`` both
run these, so a release is verified by exactly the checks CI runs.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.stateful import run_state_machine_as_test

from schema_kit.checks.invariants import InvariantError
from schema_kit.db.databases import Database
from schema_kit.db.harness import Harness
from schema_kit.workload.session import WriteSession
from schema_kit.workload.stateful import machine_for
from schema_kit.workload.strategies import Batch, batches

__all__ = ["PropertyResult", "check_batch", "run_batch_property", "run_stateful"]

SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def check_batch(
    conn: psycopg.Connection[Any], version: str, vector_dim: int, batch: Batch,
    names: Sequence[str],
) -> WriteSession:
    """Write ``batch`` as LightRAG would, check the named invariants, roll everything back."""
    session = WriteSession(conn, version, vector_dim)
    try:
        session.write(batch)
        session.check(*names)
        return session
    finally:
        conn.rollback()


@dataclass(frozen=True)
class PropertyResult:
    name: str
    holds: bool
    examples: int
    rows: int
    elapsed_s: float
    failure: str = ""
    replay: str = ""


def _result(
    name: str, start: float, counts: list[int], error: InvariantError | None
) -> PropertyResult:
    elapsed = time.perf_counter() - start
    if error is None:
        return PropertyResult(name, True, len(counts), sum(counts), elapsed)
    replay = error.replay.rsplit(" -f ", 1)[-1]
    return PropertyResult(name, False, len(counts), sum(counts), elapsed, str(error), replay)


def _overrides(max_examples: int | None, shrink: bool) -> dict[str, Any]:
    overrides: dict[str, Any] = {"suppress_health_check": SUPPRESS}
    if max_examples is not None:
        overrides["max_examples"] = max_examples
    if not shrink:
        overrides["phases"] = [Phase.explicit, Phase.reuse, Phase.generate]
    return overrides


@contextlib.contextmanager
def _quiet_reprs() -> Iterator[None]:
    # An unshrunk failing batch holds hundreds of rows; Hypothesis warns that printing it is
    # expensive. The report carries the replay script instead, so the warning is noise here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Generating overly large repr")
        yield


def run_batch_property(
    name: str, db: Database, version: str, vector_dim: int, max_examples: int | None = None,
    shrink: bool = True,
) -> PropertyResult:
    """Hypothesis over multi-tenant batches for one invariant, with the current profile."""
    counts: list[int] = []
    start = time.perf_counter()
    overrides = _overrides(max_examples, shrink)
    with db.connect() as conn:

        @settings(**overrides)
        @given(batch=batches())
        def prop(batch: Batch) -> None:
            counts.append(check_batch(conn, version, vector_dim, batch, [name]).checked_rows())

        try:
            with _quiet_reprs():
                prop()
        except InvariantError as exc:
            return _result(name, start, counts, exc)
    return _result(name, start, counts, None)


def run_stateful(
    harness: Harness, version: str, max_examples: int | None = None, shrink: bool = True,
) -> PropertyResult:
    """The LightRAG workload state machine; a failure carries its replay."""
    start = time.perf_counter()
    overrides = _overrides(max_examples, shrink)
    try:
        with _quiet_reprs():
            run_state_machine_as_test(  # type: ignore[no-untyped-call]
                machine_for(harness, version), settings=settings(**overrides)
            )
    except InvariantError as exc:
        return _result("stateful", start, [], exc)
    current = settings.default
    examples = overrides.get("max_examples", current.max_examples if current else 0)
    return PropertyResult("stateful", True, int(examples), 0, time.perf_counter() - start)
