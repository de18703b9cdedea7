"""Invariant 7, "indexes serve": the planner reads a tenant index for tenant-filtered queries.

Run on any database at head (a few rows are enough): with sequential scans priced out, a
tenant (and tenant + kb) filter on every data table must be answered through an index whose
leading column is ``tenant_id``.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from schema_kit.checks.registry import ChainTarget, Check, Found, Needs
from schema_kit.workload.tables import DATA_TABLES

__all__ = ["INDEXES_SERVE", "index_gaps", "indexes_in_plan"]


def indexes_in_plan(plan: Any) -> set[str]:
    """Every index name any node of an ``EXPLAIN (FORMAT JSON)`` plan reads."""
    found: set[str] = set()
    stack: list[Any] = [plan]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("Index Name"), str):
                found.add(node["Index Name"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _tenant_indexes(conn: psycopg.Connection[Any]) -> dict[str, set[str]]:
    rows = conn.execute(
        "SELECT t.relname, i.relname FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
        "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0] "
        "WHERE t.relname = ANY(%s) AND a.attname = 'tenant_id'",
        (list(DATA_TABLES),),
    ).fetchall()
    out: dict[str, set[str]] = {t: set() for t in DATA_TABLES}
    for table, index in rows:
        out[table].add(index)
    return out


_FILTERS = {
    "tenant": (sql.SQL("EXPLAIN (FORMAT JSON) SELECT id FROM {} WHERE tenant_id = %s"),
               ["acme"]),
    "tenant+kb": (
        sql.SQL("EXPLAIN (FORMAT JSON) SELECT id FROM {} WHERE tenant_id = %s AND kb_id = %s"),
        ["acme", "kb1"],
    ),
}


def index_gaps(conn: psycopg.Connection[Any]) -> list[tuple[str, str, list[str]]]:
    """``(table, filter, indexes the plan used)`` for each query a tenant index did not serve."""
    leading = _tenant_indexes(conn)
    gaps = []
    try:
        conn.execute("SET LOCAL enable_seqscan = off")
        for table in DATA_TABLES:
            for label, (query, params) in _FILTERS.items():
                row = conn.execute(query.format(sql.Identifier(table)), params).fetchone()
                used = indexes_in_plan(row[0] if row else [])
                if not used & leading[table]:
                    gaps.append((table, label, sorted(used)))
    finally:
        conn.rollback()
    return gaps


def _detect(target: ChainTarget) -> Found:
    with target.templates.database(target.version) as db, db.connect() as conn:
        return Found(rows=list(index_gaps(conn)), examples=1)


INDEXES_SERVE = Check(
    "indexes_serve", "indexes",
    "a tenant (and tenant + kb) filter on every data table is answered through an index "
    "whose leading column is tenant_id",
    Needs.CHAIN, ("table", "filter", "indexes the plan used"), detect=_detect,
)
