"""A RuleBasedStateMachine whose rules are LightRAG's real operations on the schema.

Rules: batched upserts, moving rows to another workspace, deleting by ids, deleting a tenant,
a transaction rolled back, and a migration down to a random version and back up. After every
step the caller's ``check`` judges the database against the session's model (the registry's
data checks, passed in by ``schema_kit.checks.properties``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from schema_kit.db.databases import Database
from schema_kit.db.harness import Harness
from schema_kit.db.migrations import Migrator, Version
from schema_kit.workload.session import WriteSession
from schema_kit.workload.strategies import Batch, awkward_workspaces, batches, workspaces
from schema_kit.workload.writes import Delete, DeleteTenant, Move

__all__ = ["machine_for"]


def machine_for(
    harness: Harness, version: str, check: Callable[[WriteSession], None]
) -> type[RuleBasedStateMachine]:
    """A machine class bound to ``harness``: each run gets a fresh clone at ``version``, and
    ``check(session)`` runs after every step (it raises when the database breaks the model)."""

    class TenantWorkloadMachine(RuleBasedStateMachine):
        db: Database
        conn: psycopg.Connection[Any]
        session: WriteSession
        migrator: Migrator
        top: str

        @initialize()
        def start(self) -> None:
            self.db = harness.templates.clone(version, purpose="sm")
            self.conn = self.db.connect()
            self.migrator = harness.templates.migrator(self.conn)
            self.top = str(self.migrator.current())
            self.session = WriteSession(self.conn, self.top, harness.settings.vector_dim,
                                        sql_dir=harness.templates.sql_dir)

        def _commit(self) -> None:
            self.session.commit()

        @rule(batch=batches(max_bulk=40))
        def upsert_batch(self, batch: Batch) -> None:
            self.session.write(batch)
            self._commit()

        @precondition(lambda self: bool(self.session.model.rows))
        @rule(data=st.data(), new=st.one_of(workspaces(), awkward_workspaces()))
        def move_rows(self, data: st.DataObject, new: str) -> None:
            key = data.draw(st.sampled_from(sorted(self.session.model.rows)), label="row")
            same = sorted(
                k.id for k in self.session.model.rows
                if k.table == key.table and k.workspace == key.workspace
            )
            ids = data.draw(st.lists(st.sampled_from(same), min_size=1, unique=True), label="ids")
            self.session.move(Move(key.table, key.workspace, new, tuple(ids)))
            self._commit()

        @precondition(lambda self: bool(self.session.model.rows))
        @rule(data=st.data())
        def delete_rows(self, data: st.DataObject) -> None:
            key = data.draw(st.sampled_from(sorted(self.session.model.rows)), label="row")
            ids = (key.id, "no-such-id")
            self.session.delete(Delete(key.table, key.workspace, ids))
            self._commit()

        @precondition(lambda self: bool(self.session.model.tenants))
        @rule(data=st.data())
        def delete_tenant(self, data: st.DataObject) -> None:
            tenant = data.draw(st.sampled_from(sorted(self.session.model.tenants)), label="tenant")
            self.session.delete_tenant(DeleteTenant(tenant))
            self._commit()

        @rule(batch=batches(max_bulk=20))
        def rolled_back_transaction(self, batch: Batch) -> None:
            self.session.recorder.mark("BEGIN")
            self.session.write(batch)
            self.session.rollback()

        @rule(data=st.data())
        def migrate_down_and_up(self, data: st.DataObject) -> None:
            top = Version.parse(self.top)
            below = [str(m.version) for m in self.migrator.migrations if m.version < top]
            target = data.draw(st.sampled_from(below or [self.top]), label="down_to")
            self.migrator.migrate(target)
            self.migrator.migrate(self.top)
            self.session.recorder.mark(
                f"-- schema-kit rollback --to {target}; schema-kit migrate --to {self.top}"
            )

        @invariant()
        def every_invariant_holds(self) -> None:
            if hasattr(self, "session"):
                check(self.session)
                self.conn.rollback()

        def teardown(self) -> None:
            if hasattr(self, "conn"):
                self.conn.close()
            if hasattr(self, "db"):
                harness.scratch.drop(self.db.name)

    return TenantWorkloadMachine
