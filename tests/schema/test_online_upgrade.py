"""3.1.0's online form (``3.1.0_tenant_contract.online.sql``): the plain form's schema and data,
reached while writers go on; refused, and resumed, as a migration should be."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from schema_kit.checks import REGISTRY
from schema_kit.checks.upgrade_load import run_upgrade_under_load
from schema_kit.config import default_sql_dir
from schema_kit.connect import connect
from schema_kit.db.databases import Templates
from schema_kit.db.harness import Harness
from schema_kit.db.migrations import MigrationError, Migrator, discover
from schema_kit.inspect import take_snapshot
from schema_kit.workload.datagen import Dataset, load
from schema_kit.workload.row_checksums import checksums, data_columns
from schema_kit.workload.tables import DATA_TABLES
from tests.conftest import SqlDirFactory

pytestmark = pytest.mark.our_chain

# Rows whose registration the new rule changes ('a:b:c' is kb 'b:c' now) and plain ones.
_ODD = [("acme:kb:x", "o1"), ("acme:kb1", "o2"), ("beta:kb", "o3")]


@contextmanager
def _loaded(harness: Harness, templates: Templates | None = None
            ) -> Iterator[tuple[str, psycopg.Connection[Any]]]:
    """A clone of 3.0.0 with 300 generated rows and the odd ones, and a connection to it."""
    templates = templates or harness.templates
    db = templates.clone("3.0.0", purpose="online")
    try:
        with connect(db.dsn) as conn:
            load(conn, Dataset(300, seed=7, vector_dim=harness.settings.vector_dim))
            for workspace, rid in _ODD:
                conn.execute("INSERT INTO lightrag_doc_full (id, workspace, content) "
                             "VALUES (%s, %s, 'x')", (rid, workspace))
            conn.commit()
            yield db.dsn, conn
    finally:
        templates.scratch.drop(db.name)


def _state(conn: psycopg.Connection[Any]) -> tuple[Any, ...]:
    """Schema, data and registry: what the two forms must leave alike."""
    columns = data_columns(conn, list(DATA_TABLES))
    data = checksums(conn, columns, {})
    registry = conn.execute("SELECT tenant_id, kb_id FROM knowledge_bases ORDER BY 1, 2"
                            ).fetchall()
    generated = conn.execute("SELECT workspace, tenant_id, kb_id FROM lightrag_doc_full "
                             "ORDER BY 1").fetchall()
    conn.rollback()
    return take_snapshot(conn), data, registry, generated


def _migrate(conn: psycopg.Connection[Any], templates: Templates, online: bool,
             sql_dir: Path | None = None, target: str = "3.1.0") -> None:
    migrator = Migrator(conn, discover(sql_dir or templates.sql_dir), templates.params,
                        templates.table, online=online)
    migrator.migrate(target)


_LOCK = "        EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', v_table);\n"


def _online_form_at_the_lock(make_sql_dir: SqlDirFactory, instead: str) -> Path:
    """Our chain, the online form's swap taking each table's lock replaced by ``instead``."""
    sql_dir = make_sql_dir({})
    for path in (default_sql_dir() / "migrations").iterdir():
        text = path.read_text("utf-8")
        if path.name == "3.1.0_tenant_contract.online.sql":
            assert text.count(_LOCK) == 1
            text = text.replace(_LOCK, instead)
        (sql_dir / "migrations" / path.name).write_text(text, "utf-8")
    return sql_dir


def test_the_online_form_leaves_what_the_plain_form_leaves(schema_kit_harness: Harness) -> None:
    """Schema (catalog snapshot: columns, constraints, indexes, triggers, function bodies),
    data, registry and generated values alike; and the plain down script undoes either."""
    templates = schema_kit_harness.templates
    states, downs = [], []
    for online in (False, True):
        with _loaded(schema_kit_harness) as (_, conn):
            _migrate(conn, templates, online)
            states.append(_state(conn))
            leftovers = conn.execute(
                "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tenant_contract_%'"
            ).fetchone()
            conn.rollback()
            assert leftovers == (0,)
            _migrate(conn, templates, online=False, target="3.0.0")
            downs.append(_state(conn))
    plain, online_state = states
    assert online_state[0] == plain[0], online_state[0].diff(plain[0])
    assert online_state[1:] == plain[1:]
    assert ("acme:kb:x", "acme", "kb:x") in plain[3]
    assert downs[1][0] == downs[0][0], downs[1][0].diff(downs[0][0])
    assert downs[1][1:] == downs[0][1:]


def test_the_online_form_refuses_a_legacy_workspace_and_changes_nothing(
    schema_kit_harness: Harness,
) -> None:
    templates = schema_kit_harness.templates
    with _loaded(schema_kit_harness) as (_, conn):
        conn.execute("INSERT INTO lightrag_doc_chunks (id, workspace) VALUES ('l1', 'legacy')")
        conn.commit()
        before = take_snapshot(conn)
        with pytest.raises(MigrationError) as refused:
            _migrate(conn, templates, online=True)
        assert "lightrag_doc_chunks: workspace 'legacy', id 'l1'" in str(refused.value)
        assert "Remedy: update those workspaces" in str(refused.value)
        # Refused before it made anything: not even its side schema.
        assert take_snapshot(conn) == before


def test_an_interrupted_online_run_is_resumed_by_running_it_again(
    schema_kit_harness: Harness, make_sql_dir: SqlDirFactory,
) -> None:
    """Stopped after swapping some tables (say, a lost connection): the same form run again
    swaps the rest and ends where the plain form does."""
    broken = _online_form_at_the_lock(make_sql_dir, _LOCK + "        IF v_table = "
                                      "'lightrag_llm_cache' THEN\n            RAISE EXCEPTION "
                                      "'stopped here';\n        END IF;\n")
    templates = schema_kit_harness.templates
    with _loaded(schema_kit_harness) as (_, conn):
        _migrate(conn, templates, online=False)
        plain = _state(conn)
    with _loaded(schema_kit_harness) as (_, conn):
        with pytest.raises(MigrationError, match="stopped here"):
            _migrate(conn, templates, online=True, sql_dir=broken)
        swapped = conn.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%_register_insert'").fetchone()
        conn.rollback()
        assert swapped == (5,)  # the tables before lightrag_llm_cache
        _migrate(conn, templates, online=True)
        resumed = _state(conn)
    assert resumed[0] == plain[0], resumed[0].diff(plain[0])
    assert resumed[1:] == plain[1:]


def test_writers_go_on_through_the_online_form_and_nothing_is_lost(
    schema_kit_harness: Harness,
) -> None:
    result = run_upgrade_under_load(schema_kit_harness.templates, REGISTRY.over_writes(), 1000,
                                    schema_kit_harness.settings.vector_dim, warmup=10,
                                    target="3.1.0", online=True)
    (m,) = result.migrations
    assert (m.version, m.applied, m.attempts) == ("3.1.0", True, 1)
    assert m.writes.count > 0
    assert result.online and result.failed == {} and result.lost == ()
    assert result.invariants == () and result.writer_rows > 0


def test_the_log_replays_inserts_updates_moves_and_deletes_into_the_shadow(
    schema_kit_harness: Harness, make_sql_dir: SqlDirFactory,
) -> None:
    """What writers do between the copy and the swap reaches the shadow: per key the last
    change wins, a moved row leaves its old key, a row inserted then deleted is not there."""
    templates = schema_kit_harness.templates
    with _loaded(schema_kit_harness) as (_, conn):
        with pytest.raises(MigrationError, match="stopped before the swap"):
            _migrate(conn, templates, online=True, sql_dir=_online_form_at_the_lock(
                make_sql_dir, "        RAISE EXCEPTION 'stopped before the swap';\n"))
        changes = [
            "INSERT INTO lightrag_doc_full (id, workspace, content) VALUES ('n1', 'acme:kb1', 'a')",
            "UPDATE lightrag_doc_full SET content = 'b' WHERE id = 'n1'",
            "UPDATE lightrag_doc_full SET content = 'c' WHERE id = 'n1'",
            "INSERT INTO lightrag_doc_full (id, workspace, content) VALUES ('n2', 'acme:kb1', 'x')",
            "DELETE FROM lightrag_doc_full WHERE id = 'n2'",
            "UPDATE lightrag_doc_full SET workspace = 'beta:kb9' WHERE id = 'o2'",
            "DELETE FROM lightrag_doc_full WHERE id = 'o3'",
            "DELETE FROM lightrag_doc_full WHERE id = 'o1'",  # deleted, then inserted again
            "INSERT INTO lightrag_doc_full (id, workspace, content) "
            "VALUES ('o1', 'acme:kb:x', 'z')",
        ]
        for change in changes:
            conn.execute(change.encode())
        conn.commit()
        # Twice: a second pass finds an empty log and changes nothing.
        replayed = [conn.execute("SELECT tenant_contract_online.replay('lightrag_doc_full')"
                                 ).fetchone() for _ in range(2)]
        query = sql.SQL("SELECT workspace, id, content, tenant_id, kb_id FROM {} ORDER BY 1, 2")
        live = conn.execute(query.format(sql.Identifier("lightrag_doc_full"))).fetchall()
        shadow = conn.execute(query.format(sql.Identifier(
            "tenant_contract_online", "lightrag_doc_full"))).fetchall()
        conn.rollback()
    assert replayed[0] is not None and replayed[0][0] >= len(changes) and replayed[1] == (0,)
    assert [r[:3] for r in shadow] == [r[:3] for r in live]
    assert ("beta:kb9", "o2", "x", "beta", "kb9") in shadow
    assert ("acme:kb:x", "o1", "z", "acme", "kb:x") in shadow  # the new rule's kb
    assert not any(r[1] in ("n2", "o3") for r in shadow)
