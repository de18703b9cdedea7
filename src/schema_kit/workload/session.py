"""A write session: runs LightRAG's statements and keeps the model of what they wrote in step.

The same class drives the Hypothesis tests, the stateful machine, ``schema-kit verify`` and the
rows-per-second benchmark; ``schema_kit.checks`` then judges the database against its model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from schema_kit.workload.oracle import Model, Partition, RowKey, parse
from schema_kit.workload.recording import Outcome, Recorder
from schema_kit.workload.strategies import Batch
from schema_kit.workload.tables import DATA_TABLES, tenant_tables
from schema_kit.workload.writes import Delete, DeleteTenant, Move, Upsert

__all__ = ["WriteSession", "baseline", "reset"]


@dataclass
class WriteSession:
    conn: psycopg.Connection[Any]
    version: str
    vector_dim: int
    model: Model = field(default_factory=Model)
    sent: set[str] = field(default_factory=set)
    # The tables the checks read: every table under the contract in this database (11 at
    # 3.2.0), so rows that reached a table the writes did not aim at are still checked.
    tables: tuple[str, ...] = ()
    recorder: Recorder = field(init=False)
    # Writes the contract accepts but the database refused (statement or COMMIT).
    refusals: list[str] = field(default_factory=list)
    # Start the model from what the database already holds (a chain's seed tenants and
    # rows): the checks compare against this baseline plus the writes.
    baseline: bool = True
    # The sql dir whose chain migrated the database: a replay script names it.
    sql_dir: Path | None = None
    _committed: Model = field(init=False)
    # The chain's constraints (and constraint triggers) checked at commit by default.
    _deferred: tuple[str, ...] = field(init=False, default=())
    # Registration at commit (3.3.0): the registry as of the last COMMIT or settle(); keys the
    # model holds beyond it are staged, and a registry delete is refused while any are.
    _staging: bool = field(init=False, default=False)
    _registered: Model = field(init=False)

    def __post_init__(self) -> None:
        self.recorder = Recorder(self.conn)
        idle = self.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        contract_tables = tenant_tables(self.conn)
        self._deferred = tuple(str(r[0]) for r in self.conn.execute(
            "SELECT DISTINCT conname FROM pg_constraint WHERE condeferrable AND condeferred "
            "AND connamespace = current_schema()::regnamespace ORDER BY 1"))
        staging = self.conn.execute(
            "SELECT to_regclass('tenant_registration_pending') IS NOT NULL").fetchone()
        self._staging = bool(staging and staging[0])
        if not self.tables:
            self.tables = contract_tables or DATA_TABLES
        if self.baseline:
            self.model = self.model.merged(baseline(self.conn, contract_tables))
            self.sent.update(self.model.workspaces())
        if idle:  # leave the connection as found; never end a caller's transaction
            self.conn.rollback()
        self._committed = self.model.copy()
        self._registered = self._committed

    def _expect(self, accepted: bool, outcome: Outcome, what: str) -> Outcome:
        if accepted and outcome.error is not None:
            self.refusals.append(f"{what}: {outcome.error}")
        return outcome

    def upsert(self, op: Upsert) -> Outcome:
        self.sent.update(r.workspace for r in op.rows)
        outcome = self.recorder.run(op)
        keys = [(r.workspace, r.id) for r in op.rows]
        # A statement the database refused changed nothing: it never enters the model.
        model = self.model if outcome.error is None else self.model.copy()
        accepted = model.upsert(op.table, keys)
        return self._expect(accepted, outcome, f"upsert of {len(op.rows)} row(s) into {op.table}")

    def write(self, batch: Batch) -> list[Outcome]:
        return [self.upsert(op) for op in batch.statements(self.vector_dim)]

    def move(self, op: Move) -> Outcome:
        self.sent.add(op.new)
        outcome = self.recorder.run(op)
        model = self.model if outcome.error is None else self.model.copy()
        accepted = model.move(op.table, op.old, op.new, op.ids)
        return self._expect(accepted, outcome, f"move {op.old!r} -> {op.new!r} in {op.table}")

    def delete(self, op: Delete) -> Outcome:
        outcome = self.recorder.run(op)
        if outcome.error is None:
            self.model.delete(op.table, op.workspace, op.ids)
        return self._expect(True, outcome, f"delete from {op.table}")

    def unregistered(self) -> set[Partition]:
        """The (tenant, kb) keys this transaction wrote that wait for commit to register."""
        if not self._staging:
            return set()
        return self.model.kbs - self._registered.kbs

    def delete_tenant(self, op: DeleteTenant) -> Outcome:
        accepted = not self.unregistered()
        outcome = self.recorder.run(op)
        if outcome.error is None:
            self.model.delete_tenant(op.tenant_id)
            # Gone from the registry: writing the tenant again stages its keys anew.
            self._registered = self._registered.copy()
            self._registered.delete_tenant(op.tenant_id)
        return self._expect(accepted, outcome, f"delete tenant {op.tenant_id!r}")

    def settle(self) -> None:
        """Run now what COMMIT would run (deferred constraint triggers: registration at
        commit, deferred foreign keys), so the checks judge the state a commit would leave
        without committing; what was deferred stays deferred for later statements.

        A refusal here is a refusal at COMMIT: recorded (the acceptance check reports it) and
        undone to the savepoint, so the transaction stays usable for the checks.
        """
        if not self._deferred:
            return
        names = sql.SQL(", ").join(map(sql.Identifier, self._deferred))
        self.conn.execute("SAVEPOINT schema_kit_settle")
        try:
            self.conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
            self.recorder.mark("SET CONSTRAINTS ALL IMMEDIATE; -- what COMMIT would check")
            self._registered = self.model.copy()
        except psycopg.Error as exc:
            self.conn.execute("ROLLBACK TO SAVEPOINT schema_kit_settle")
            self.recorder.mark(
                f"SET CONSTRAINTS ALL IMMEDIATE; -- refused when recorded: {exc.sqlstate}")
            self.refusals.append(f"COMMIT: {exc.sqlstate}: {exc.diag.message_primary}")
        deferred = sql.SQL("SET CONSTRAINTS {} DEFERRED").format(names)
        self.conn.execute(deferred)
        self.recorder.mark(deferred.as_string(self.conn) + ";")
        self.conn.execute("RELEASE SAVEPOINT schema_kit_settle")

    def commit(self) -> None:
        """COMMIT; a refused commit (e.g. a deferred constraint) rolls the model back too."""
        try:
            self.conn.commit()
            self.recorder.mark("COMMIT")
            self._committed = self.model.copy()
        except psycopg.Error as exc:
            self.recorder.mark(f"COMMIT; -- refused when recorded: {exc.sqlstate}")
            self.refusals.append(f"COMMIT: {exc.sqlstate}: {exc.diag.message_primary}")
            self.model = self._committed.copy()
        self._registered = self._committed

    def rollback(self) -> None:
        self.conn.rollback()
        self.recorder.mark("ROLLBACK")
        self.model = self._committed.copy()
        self._registered = self._committed

    def checked_rows(self) -> int:
        return len(self.model.rows)


def baseline(conn: psycopg.Connection[Any], tables: tuple[str, ...]) -> Model:
    """What the database holds before any generated write: its registry and its rows.

    Rows whose workspace the oracle refuses are left out (the checks report them as stored);
    a registry table the chain does not have contributes nothing.
    """
    model = Model()
    present = conn.execute(
        "SELECT to_regclass('tenants') IS NOT NULL, to_regclass('knowledge_bases') IS NOT NULL"
    ).fetchone()
    if present and present[0]:
        model.tenants = {str(r[0]) for r in conn.execute("SELECT tenant_id FROM tenants")}
    if present and present[1]:
        model.kbs = {Partition(str(t), str(k)) for t, k in
                     conn.execute("SELECT tenant_id, kb_id FROM knowledge_bases")}
    for table in tables:
        rows = conn.execute(
            sql.SQL("SELECT workspace, id FROM {}").format(sql.Identifier(table))
        ).fetchall()
        for workspace, row_id in rows:
            if (partition := parse(str(workspace))) is not None:
                model.rows[RowKey(table, str(workspace), str(row_id))] = partition
    return model


def reset(conn: psycopg.Connection[Any]) -> None:
    """Empty the data tables and the registry (committed), for tests that must commit."""
    tables = [*DATA_TABLES, "tenants"]
    conn.rollback()
    conn.execute(
        sql.SQL("TRUNCATE {} CASCADE").format(sql.SQL(", ").join(map(sql.Identifier, tables)))
    )
    conn.commit()
