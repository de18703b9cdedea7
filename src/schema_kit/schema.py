"""Facts about the schema under test that the harness's checks rely on."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

__all__ = ["DATA_TABLES", "LEGACY_TABLES", "VECTOR_TABLES", "columns_of", "table_checksums"]

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
