"""Concurrent writers introducing the same new tenants and kbs at once."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from schema_kit.databases import Database
from schema_kit.session import WriteSession
from schema_kit.strategies import Batch
from schema_kit.workspace import Model
from schema_kit.writes import Row

Factory = Callable[..., Database]
WRITERS = 8
ROUNDS = 5


def _batch(writer: int, round_: int, rng: random.Random) -> Batch:
    # Every writer introduces the same new tenants and kbs in this round, in its own order,
    # with row ids of its own (so only registration, not the data, is contended).
    workspaces = [f"tenant{round_}-{t}:kb{k}" for t in range(4) for k in range(3)]
    rng.shuffle(workspaces)
    tables = ["lightrag_doc_chunks", "lightrag_vdb_entity", "lightrag_doc_status"]
    return Batch(tuple(
        Row(table, ws, f"w{writer}-r{round_}-{n}", f"writer {writer}")
        for n, ws in enumerate(workspaces) for table in tables
    ))


@pytest.mark.parametrize("version", ["head"])
def test_eight_writers_register_each_tenant_once_and_lose_nothing(
    version: str, schema_kit_db_factory: Factory
) -> None:
    db = schema_kit_db_factory(version)
    barrier = threading.Barrier(WRITERS)
    errors: list[str] = []
    models: list[Model] = []

    def writer(n: int) -> None:
        rng = random.Random(n)
        with psycopg.connect(db.dsn, autocommit=False) as conn:
            session = WriteSession(conn, version, 1024)
            for round_ in range(ROUNDS):
                barrier.wait(timeout=60)
                for outcome in session.write(_batch(n, round_, rng)):
                    if outcome.error:
                        errors.append(outcome.error)
                conn.commit()
            models.append(session.model)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []  # no deadlock (40P01), no unique violation (23505)
    assert len(models) == WRITERS

    merged = Model()
    for model in models:
        merged.rows.update(model.rows)
        merged.tenants |= model.tenants
        merged.kbs |= model.kbs
    with db.connect() as conn:
        check = WriteSession(conn, version, 1024, model=merged)
        check.sent = merged.workspaces()
        check.check()  # every row present, registered, partitioned as the oracle says
        counts: Any = conn.execute(
            "SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM knowledge_bases)"
        ).fetchone()
    assert counts == (4 * ROUNDS, 12 * ROUNDS)
    assert len(merged.rows) == WRITERS * ROUNDS * 36
