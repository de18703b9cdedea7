"""Facts about the schema under test that the harness's checks rely on."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

__all__ = [
    "DATA_TABLES",
    "LEGACY_TABLES",
    "VECTOR_TABLES",
    "columns_of",
    "table_checksums",
    "tenant_tables",
]

# The seed's data tables (3.0.0 and 3.1.0). From 3.2.0 on the set depends on the database
# (LightRAG's chunk-tracking tables, vector tables named after the embedding model):
# ``tenant_tables`` reads it from the catalog.
DATA_TABLES = (
    "lightrag_doc_full",
    "lightrag_doc_chunks",
    "lightrag_vdb_chunks",
    "lightrag_vdb_entity",
    "lightrag_vdb_relation",
    "lightrag_llm_cache",
    "lightrag_doc_status",
    "lightrag_full_entities",
    "lightrag_full_relations",
)
VECTOR_TABLES = ("lightrag_vdb_chunks", "lightrag_vdb_entity", "lightrag_vdb_relation")
LEGACY_TABLES = (
    "documents",
    "entities",
    "relations",
    "embeddings",
    "document_status",
    "kv_storage",
    "lightrag_tenants",
    "lightrag_knowledge_bases",
)


def tenant_tables(conn: psycopg.Connection[Any]) -> tuple[str, ...]:
    """The tables under the tenant contract here: a workspace and a STORED ``tenant_id``.

    Read from the catalog so one check covers every version: 9 tables at 3.0.0/3.1.0, 11
    (or more, after LightRAG created some) at 3.2.0, none before 2.0.0.
    """
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c WHERE c.relkind = 'r' "
        "AND c.relnamespace = current_schema()::regnamespace "
        "AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid "
        "AND a.attname = 'workspace' AND NOT a.attisdropped) "
        "AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid "
        "AND a.attname = 'tenant_id' AND a.attgenerated = 's' AND NOT a.attisdropped) "
        "ORDER BY 1"
    ).fetchall()
    return tuple(str(r[0]) for r in rows)


def table_checksums(
    conn: psycopg.Connection[Any], columns: dict[str, list[str]]
) -> dict[str, tuple[int, str]]:
    """``{table: (row count, md5 of the named columns of every row in key order)}``.

    Naming the columns lets a checksum taken before a migration that adds columns be
    compared with one taken after it.
    """
    result: dict[str, tuple[int, str]] = {}
    for table, cols in columns.items():
        row_expr = sql.SQL("ROW({})::text").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in cols)
        )
        query = sql.SQL(
            "SELECT count(*), coalesce(md5(string_agg({row}, E'\\n' ORDER BY {row})), '') FROM {t}"
        ).format(row=row_expr, t=sql.Identifier(table))
        row = conn.execute(query).fetchone()
        assert row is not None
        result[table] = (int(row[0]), str(row[1]))
    return result


def columns_of(conn: psycopg.Connection[Any], tables: tuple[str, ...]) -> dict[str, list[str]]:
    """The live columns of ``tables`` (schema public) in their order."""
    rows = conn.execute(
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relname = ANY(%s) AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY c.relname, a.attnum",
        (list(tables),),
    ).fetchall()
    out: dict[str, list[str]] = {t: [] for t in tables}
    for table, column in rows:
        out[table].append(column)
    return out
