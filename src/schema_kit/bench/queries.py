"""The queries the benchmarks time, and the switches that take the tenant indexes away.

The catalogue mirrors what LightRAG runs against its tables (fetch a kb's chunks, entities and
relations, fetch by ids, count, delete a kb, batched upsert), filtered on the generated
``tenant_id`` / ``kb_id`` columns that the 18 tenant indexes serve. One query filters on
``workspace`` like LightRAG itself does, for context: the primary key serves it either way.

Taking the indexes (or triggers) away happens inside the caller's open transaction, so a
rollback restores the schema exactly, and no other session ever sees it without them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from schema_kit.bench.datagen import TABLES, Dataset, Pick
from schema_kit.checks.plans import indexes_in_plan as plan_indexes  # one plan walker for both
from schema_kit.workload.tables import DATA_TABLES

__all__ = [
    "CATALOGUE", "IndexDef", "Query", "Step", "TriggerDef", "create_indexes", "drop_indexes",
    "drop_triggers", "explain", "plan_indexes", "prefix_indexes", "run", "schema_variant",
    "tenant_indexes", "tenant_triggers", "upsert_statement",
]

_COLUMNS = {t.name: t.columns for t in TABLES}
_SAVEPOINT = sql.Identifier("schema_kit_bench")


@dataclass(frozen=True)
class Step:
    """One statement; ``many`` runs it once per row of ``params`` (a batched write)."""

    statement: sql.Composed
    params: Sequence[Any]
    many: bool = False


@dataclass(frozen=True)
class Query:
    name: str
    scope: str  # "tenant+kb", "tenant" or "workspace (LightRAG-native)"
    table: str
    mutates: bool
    build: Callable[[Dataset, Pick], list[Step]]


def _where(columns: Sequence[str]) -> sql.Composable:
    return sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns)


_NOTHING = sql.SQL("")
_ID_IN = sql.SQL(" AND id = ANY(%s)")


def _select(table: str, columns: Sequence[str], filters: Sequence[str],
            extra: sql.Composable = _NOTHING) -> sql.Composed:
    return sql.SQL("SELECT {} FROM {} WHERE {}{}").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table),
        _where(filters), extra)


def upsert_statement(table: str) -> sql.Composed:
    """LightRAG's write: INSERT … ON CONFLICT (workspace, id) DO UPDATE of every other column."""
    cols = _COLUMNS[table]
    updates = [sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c))
               for c in cols if c not in ("workspace", "id")]
    return sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (workspace, id) DO UPDATE SET {}"
                   ).format(sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, cols)),
                            sql.SQL(", ").join(sql.Placeholder() * len(cols)),
                            sql.SQL(", ").join(updates))


_CHUNK_OUT = ("id", "full_doc_id", "chunk_order_index", "tokens", "content", "file_path")
_KB = ("tenant_id", "kb_id")


def _fetch(table: str, columns: Sequence[str], filters: Sequence[str]) -> Callable[..., list[Step]]:
    def build(ds: Dataset, pick: Pick) -> list[Step]:
        params = {"tenant_id": pick.tenant, "kb_id": pick.kb, "workspace": pick.workspace}
        return [Step(_select(table, columns, filters), [params[f] for f in filters])]

    return build


def _tenant_count(ds: Dataset, pick: Pick) -> list[Step]:
    stmt = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(
        sql.Identifier("lightrag_doc_chunks"), _where(("tenant_id",)))
    return [Step(stmt, [pick.tenant])]


def _by_ids(ds: Dataset, pick: Pick) -> list[Step]:
    ids = ds.ids("lightrag_doc_chunks", pick.workspace, 20)
    stmt = _select("lightrag_doc_chunks", _CHUNK_OUT, _KB, _ID_IN)
    return [Step(stmt, [pick.tenant, pick.kb, ids])]


def _delete_kb(ds: Dataset, pick: Pick) -> list[Step]:
    return [Step(sql.SQL("DELETE FROM {} WHERE {}").format(sql.Identifier(t), _where(_KB)),
                 [pick.tenant, pick.kb]) for t in DATA_TABLES]


def _upsert(ds: Dataset, pick: Pick) -> list[Step]:
    # Half the batch rewrites rows the kb has (as far as it has them), the rest is new.
    table = "lightrag_doc_chunks"
    have = len(ds.ids(table, pick.workspace, 50))
    rows = ds.fresh_rows(table, pick.workspace, have, start=0)
    rows += ds.fresh_rows(table, pick.workspace, 100 - have)
    return [Step(upsert_statement(table), rows, many=True)]


CATALOGUE: tuple[Query, ...] = (
    Query("kb_chunks", "tenant+kb", "lightrag_doc_chunks", False,
          _fetch("lightrag_doc_chunks", _CHUNK_OUT, _KB)),
    Query("kb_entities", "tenant+kb", "lightrag_vdb_entity", False,
          _fetch("lightrag_vdb_entity", ("id", "entity_name", "content", "chunk_ids"), _KB)),
    Query("kb_relations", "tenant+kb", "lightrag_vdb_relation", False,
          _fetch("lightrag_vdb_relation", ("id", "source_id", "target_id", "content"), _KB)),
    Query("kb_chunks_by_ids", "tenant+kb", "lightrag_doc_chunks", False, _by_ids),
    Query("tenant_count", "tenant", "lightrag_doc_chunks", False, _tenant_count),
    Query("workspace_chunks", "workspace (LightRAG-native)", "lightrag_doc_chunks", False,
          _fetch("lightrag_doc_chunks", _CHUNK_OUT, ("workspace",))),
    Query("kb_delete", "tenant+kb", "(all 9)", True, _delete_kb),
    Query("kb_upsert_batch", "write", "lightrag_doc_chunks", True, _upsert),
)


def run(conn: psycopg.Connection[Any], steps: Sequence[Step], rollback: bool = False) -> int:
    """Execute ``steps`` (fetching every row, as a client would); returns rows seen.

    ``rollback`` wraps them in a savepoint that is rolled back, so a write leaves the data as
    it was while the surrounding transaction (and any dropped index) goes on.
    """
    seen = 0
    with conn.cursor() as cur:
        if rollback:
            cur.execute(sql.SQL("SAVEPOINT {}").format(_SAVEPOINT))
        for step in steps:
            if step.many:
                seen += _many(conn, cur, step)
            else:
                cur.execute(step.statement, step.params)
                seen += len(cur.fetchall()) if cur.description else cur.rowcount
        if rollback:
            cur.execute(sql.SQL("ROLLBACK TO SAVEPOINT {}").format(_SAVEPOINT))
            cur.execute(sql.SQL("RELEASE SAVEPOINT {}").format(_SAVEPOINT))
    return seen


def _many(conn: psycopg.Connection[Any], cur: psycopg.Cursor[Any], step: Step) -> int:
    # A batch is prepared once and executed per row, as LightRAG's asyncpg executemany does;
    # unprepared, parsing and planning every row would be most of what is measured.
    threshold = conn.prepare_threshold
    conn.prepare_threshold = 0
    try:
        cur.executemany(step.statement, step.params)
    finally:
        conn.prepare_threshold = threshold
    return len(step.params)


def explain(conn: psycopg.Connection[Any], steps: Sequence[Step]) -> list[dict[str, Any]]:
    """EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) of each step (a batch: of its first row),
    in a savepoint that is rolled back, since ANALYZE really runs the statement."""
    plans: list[dict[str, Any]] = []
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SAVEPOINT {}").format(_SAVEPOINT))
        for step in steps:
            params = step.params[0] if step.many else step.params
            row = cur.execute(sql.SQL("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {}").format(
                step.statement), params).fetchone()
            assert row is not None
            doc = row[0]
            plans.append(doc[0] if isinstance(doc, list) else doc)
        cur.execute(sql.SQL("ROLLBACK TO SAVEPOINT {}").format(_SAVEPOINT))
        cur.execute(sql.SQL("RELEASE SAVEPOINT {}").format(_SAVEPOINT))
    return plans


@dataclass(frozen=True)
class IndexDef:
    table: str
    name: str
    definition: str
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class TriggerDef:
    table: str
    name: str


# Non-constraint indexes of the data tables that have tenant_id or kb_id among their columns:
# the 18 of 2.0.0, and whatever later migrations add in the same role.
_TENANT_INDEXES = """
SELECT i.tablename, i.indexname, i.indexdef,
       ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, pos)
             JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
             ORDER BY k.pos)::text[]
FROM pg_indexes i
JOIN pg_class c ON c.relname = i.indexname
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = i.schemaname
JOIN pg_index x ON x.indexrelid = c.oid
WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)
  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = x.indrelid
              AND a.attnum = ANY(x.indkey) AND a.attname IN ('tenant_id', 'kb_id'))
ORDER BY i.tablename, i.indexname
"""


def tenant_indexes(conn: psycopg.Connection[Any]) -> list[IndexDef]:
    rows = conn.execute(_TENANT_INDEXES, (list(DATA_TABLES),)).fetchall()
    return [IndexDef(str(t), str(n), str(d), tuple(c)) for t, n, d, c in rows]


def prefix_indexes(defs: Sequence[IndexDef]) -> list[IndexDef]:
    """The indexes whose columns lead another index of the same table, e.g. (tenant_id)
    beside (tenant_id, kb_id): any query the first serves, the second can serve too."""
    return [d for d in defs if any(
        o.table == d.table and len(o.columns) > len(d.columns)
        and o.columns[: len(d.columns)] == d.columns for o in defs)]


def tenant_triggers(conn: psycopg.Connection[Any]) -> list[TriggerDef]:
    rows = conn.execute(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace "
        "AND c.relname = ANY(%s) ORDER BY 1, 2", (list(DATA_TABLES),)).fetchall()
    return [TriggerDef(str(t), str(n)) for t, n in rows]


def drop_indexes(conn: psycopg.Connection[Any], defs: Sequence[IndexDef]) -> None:
    for d in defs:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(d.name)))


def create_indexes(conn: psycopg.Connection[Any], defs: Sequence[IndexDef]) -> None:
    """Re-create indexes from their pg_indexes definitions (the catalog's own DDL text)."""
    for d in defs:
        # The text is the server's own rendering of an existing index (as pg_dump uses it),
        # not something composed here; bytes because the typed API wants literal strings.
        conn.execute(d.definition.encode())


def drop_triggers(conn: psycopg.Connection[Any], defs: Sequence[TriggerDef]) -> None:
    # From 3.2.0 an event trigger refuses to drop registration triggers unless the
    # transaction says it means to (a no-op setting before 3.2.0).
    conn.execute("SET LOCAL schema_kit.allow_tenant_ddl = on")
    for d in defs:
        conn.execute(sql.SQL("DROP TRIGGER {} ON {}").format(
            sql.Identifier(d.name), sql.Identifier(d.table)))


@contextmanager
def schema_variant(conn: psycopg.Connection[Any], *, indexes: bool = True, prefixes: bool = True,
                   triggers: bool = True) -> Iterator[psycopg.Connection[Any]]:
    """A transaction in which the tenant indexes (all, or only the ``prefix_indexes``) and/or
    the triggers are gone; rolled back after.

    Both arms of a comparison run inside such a transaction, so they differ only in the
    schema objects, not in transaction overhead.
    """
    if conn.autocommit or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise ValueError("schema_variant needs an idle connection that is not in autocommit")
    try:
        if not indexes:
            drop_indexes(conn, tenant_indexes(conn))
        elif not prefixes:
            drop_indexes(conn, prefix_indexes(tenant_indexes(conn)))
        if not triggers:
            drop_triggers(conn, tenant_triggers(conn))
        conn.execute("SELECT 1")  # opens the transaction in the 'with' arm too
        yield conn
    finally:
        conn.rollback()
