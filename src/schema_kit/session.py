"""A write session: runs LightRAG's statements, keeps the model in step, checks the invariants.

The same class drives the Hypothesis tests, the stateful machine, ``schema-kit verify`` and the
rows-per-second benchmark, so all of them check exactly the same contract.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from schema_kit.invariants import (
    Check,
    assert_holds,
    extraction,
    isolation,
    refused_rows,
    registration,
)
from schema_kit.replay import Outcome, Recorder
from schema_kit.schema import DATA_TABLES
from schema_kit.strategies import Batch
from schema_kit.workspace import Model
from schema_kit.writes import Delete, DeleteTenant, Move, Upsert

__all__ = ["ALL_CHECKS", "WriteSession"]

ALL_CHECKS = ("extraction", "registration", "isolation", "bad_input")


@dataclass
class WriteSession:
    conn: psycopg.Connection[Any]
    version: str
    vector_dim: int
    model: Model = field(default_factory=Model)
    sent: set[str] = field(default_factory=set)
    recorder: Recorder = field(init=False)

    def __post_init__(self) -> None:
        self.recorder = Recorder(self.conn)

    def upsert(self, op: Upsert) -> Outcome:
        self.sent.update(r.workspace for r in op.rows)
        outcome = self.recorder.run(op)
        self.model.upsert(op.table, ((r.workspace, r.id) for r in op.rows))
        return outcome

    def write(self, batch: Batch) -> list[Outcome]:
        return [self.upsert(op) for op in batch.statements(self.vector_dim)]

    def move(self, op: Move) -> Outcome:
        self.sent.add(op.new)
        outcome = self.recorder.run(op)
        self.model.move(op.table, op.old, op.new, op.ids)
        return outcome

    def delete(self, op: Delete) -> Outcome:
        outcome = self.recorder.run(op)
        self.model.delete(op.table, op.workspace, op.ids)
        return outcome

    def delete_tenant(self, op: DeleteTenant) -> Outcome:
        outcome = self.recorder.run(op)
        self.model.delete_tenant(op.tenant_id)
        return outcome

    def checks(self, names: Iterable[str] = ALL_CHECKS) -> list[Check]:
        build = {
            "extraction": lambda: extraction(self.sent),
            "registration": lambda: registration(self.model),
            "isolation": lambda: isolation(self.model),
            "bad_input": lambda: refused_rows(self.sent),
        }
        return [build[n]() for n in names]

    def check(self, *names: str) -> None:
        """Raise InvariantError (with a replay file) when a named invariant is violated."""
        assert_holds(
            self.conn, self.checks(names or ALL_CHECKS), self.recorder, self.version,
            self.vector_dim,
        )

    def checked_rows(self) -> int:
        return len(self.model.rows)


def reset(conn: psycopg.Connection[Any]) -> None:
    """Empty the data tables and the registry (committed), for tests that must commit."""
    from psycopg import sql

    tables = [*DATA_TABLES, "tenants"]
    conn.rollback()
    conn.execute(
        sql.SQL("TRUNCATE {} CASCADE").format(sql.SQL(", ").join(map(sql.Identifier, tables)))
    )
    conn.commit()
