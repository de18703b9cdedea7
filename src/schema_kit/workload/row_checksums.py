"""Whether an upgrade kept every row: checksums of the pre-loaded rows, the writers' rows.

A checksum covers a table's data columns (generated ones are recomputed by an upgrade, as
3.1.0 redefines tenant_id / kb_id), over the rows not written by the load's writers (ids
``ul-…``), in key order. Writers' rows are compared as sets: each committed one present,
none that no commit left.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from schema_kit.workload.load_workers import ID_PREFIX
from schema_kit.workload.tables import VECTOR_TABLES

__all__ = ["checksums", "data_columns", "lost", "renamed", "writer_rows"]

Key = tuple[str, str, str]  # table, workspace, id


def data_columns(conn: psycopg.Connection[Any], tables: Sequence[str]) -> dict[str, list[str]]:
    # Generated columns are recomputed by an upgrade (3.1.0 redefines them): not data.
    rows = conn.execute(
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(%s) "
        "AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
        "ORDER BY c.relname, a.attnum", (list(tables),)).fetchall()
    out: dict[str, list[str]] = {t: [] for t in tables}
    for table, column in rows:
        out[str(table)].append(str(column))
    return out


def checksums(conn: psycopg.Connection[Any], columns: dict[str, list[str]],
              names: dict[str, str]) -> dict[str, tuple[int, str]]:
    """``{table: (rows, md5)}`` over the pre-loaded rows (not the writers'), key order; a
    row is hashed alone first, so no aggregate nears PostgreSQL's 1 GB value limit at 1M
    rows.
    ``names`` maps a table to where it is now (renamed by the upgrade)."""
    out: dict[str, tuple[int, str]] = {}
    for table, cols in columns.items():
        # The binary form, not the text one: printing 1024 floats per vector row costs 3x
        # more. It names each column's type, so a column whose type changed counts as changed.
        row = sql.SQL("md5(record_send(ROW({})))").format(
            sql.SQL(", ").join(map(sql.Identifier, cols)))
        query = sql.SQL(
            "SELECT count(*), coalesce(md5(string_agg({row}, '' ORDER BY workspace, id)), '') "
            "FROM {table} WHERE id NOT LIKE {mine}").format(
                row=row, table=sql.Identifier(names.get(table, table)),
                mine=sql.Literal(ID_PREFIX + "%"))
        found = conn.execute(query).fetchone()
        out[table] = (int(found[0]), str(found[1])) if found else (0, "")
    conn.commit()
    return out


def renamed(conn: psycopg.Connection[Any], tables: Sequence[str], suffix: str) -> dict[str, str]:
    """Where each table is after the upgrade: 3.2.0 renames the vector tables when LightRAG
    names them after its embedding model (``vector_suffix``)."""
    out = {}
    for table in tables:
        moved = f"{table}_{suffix}" if suffix and table in VECTOR_TABLES else table
        found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (moved,)).fetchone()
        out[table] = moved if found and found[0] else table
    conn.commit()
    return out


def writer_rows(conn: psycopg.Connection[Any], names: dict[str, str]) -> set[Key]:
    found: set[Key] = set()
    for table, now in names.items():
        query = sql.SQL("SELECT workspace, id FROM {} WHERE id LIKE {}").format(
            sql.Identifier(now), sql.Literal(ID_PREFIX + "%"))
        found |= {(table, str(w), str(i)) for w, i in conn.execute(query).fetchall()}
    conn.commit()
    return found


def lost(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]],
          expected: set[Key], stored: set[Key],
          ) -> list[tuple[str, str]]:
    lost = [("pre-loaded rows differ", f"{t}: {before[t][0]} rows (md5 {before[t][1][:12]}) "
             f"before, {after[t][0]} (md5 {after[t][1][:12]}) after")
            for t in before if before[t] != after[t]]
    lost += [("committed row missing", f"{t} {w!r} {i!r}") for t, w, i in sorted(expected - stored)]
    lost += [("row present that no commit left", f"{t} {w!r} {i!r}")
             for t, w, i in sorted(stored - expected)]
    return lost
