"""The load's writers and readers: they commit what their model says, and never die silently."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from psycopg import sql

from schema_kit.config import Settings
from schema_kit.db.databases import Database
from schema_kit.errors import SchemaKitError
from schema_kit.workload.load_workers import ID_PREFIX, Workers
from schema_kit.workload.tables import DATA_TABLES

SPACES = ("acme:kb1", "acme:kb2", "globex:main")


def _threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("schema_kit-")]


def test_what_the_writers_committed_is_what_their_models_hold(
    schema_kit_db_factory: Callable[..., Database], schema_kit_settings: Settings,
) -> None:
    db = schema_kit_db_factory("head")
    workers = Workers(db.dsn, SPACES, DATA_TABLES, schema_kit_settings.vector_dim, writers=2,
                      readers=1)
    try:
        workers.start()
        workers.wait_for(30, 0.0)
    finally:
        workers.stop()
    assert _threads() == []
    expected = {(k.table, k.workspace, k.id) for w in workers.workers for k in w.model.rows}
    stored = set()
    with db.connect() as conn:
        for table in DATA_TABLES:
            query = sql.SQL("SELECT workspace, id FROM {}").format(sql.Identifier(table))
            rows = conn.execute(query).fetchall()
            stored |= {(table, str(ws), str(i)) for ws, i in rows}
    assert expected and stored == expected
    assert all(i.startswith(ID_PREFIX) for _, _, i in stored)
    kinds = {s.kind for w in workers.workers for s in w.log}
    assert kinds == {"write", "read"}
    assert [s.sqlstate for w in workers.workers for s in w.log if s.sqlstate] == []
    assert [f for w in workers.workers for f in w.failures] == []


def test_a_worker_whose_connection_dies_is_reported_not_lost(
    schema_kit_db_factory: Callable[..., Database], schema_kit_settings: Settings,
) -> None:
    db = schema_kit_db_factory("head")
    workers = Workers(db.dsn, SPACES, DATA_TABLES, schema_kit_settings.vector_dim, writers=1,
                      readers=1)
    workers.start()
    try:
        victim = workers.workers[0]
        with db.connect(autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (victim.pid,))
        deadline = time.monotonic() + 30
        while victim.error is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        with pytest.raises(SchemaKitError, match="writer 0 failed"):
            workers.stop()
    assert _threads() == []
