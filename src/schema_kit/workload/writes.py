"""LightRAG's own write statements, so a failure replays exactly.

Each operation is one SQL statement (``psycopg.sql.Composed`` with placeholders) and its
parameters; the harness runs it and, when an invariant breaks, writes the same statement with
the values merged in as literals into the replay script.
"""

from __future__ import annotations

import functools
import json
import random
from dataclasses import dataclass
from typing import Any

from psycopg import sql

__all__ = ["Delete", "DeleteTenant", "DeleteWorkspace", "Move", "Operation", "Row", "Upsert"]

# One payload column per table, typed as LightRAG writes it; VDB tables also get a vector.
PAYLOAD: dict[str, tuple[str, str]] = {
    "lightrag_doc_full": ("content", "text"),
    "lightrag_doc_chunks": ("content", "text"),
    "lightrag_vdb_chunks": ("content", "text"),
    "lightrag_vdb_entity": ("content", "text"),
    "lightrag_vdb_relation": ("content", "text"),
    "lightrag_llm_cache": ("return_value", "text"),
    "lightrag_doc_status": ("content_summary", "varchar255"),
    "lightrag_full_entities": ("entity_names", "jsonb"),
    "lightrag_full_relations": ("relation_pairs", "jsonb"),
}
VECTOR_COLUMN = "content_vector"


@dataclass(frozen=True)
class Row:
    table: str
    workspace: str
    id: str
    content: str = ""
    vector_seed: int | None = None  # expanded to the configured dimension when rendered


def _payload(row: Row) -> str:
    _, kind = PAYLOAD[row.table]
    if kind == "jsonb":
        return json.dumps([row.content])
    if kind == "varchar255":
        return row.content[:255]
    return row.content


@functools.lru_cache(maxsize=256)
def _vector_text(seed: int, dim: int) -> str:
    # A bounded set of distinct vectors is realistic enough and keeps batches cheap to build.
    rng = random.Random(seed)
    return "[" + ",".join(f"{rng.uniform(-1, 1):.3f}" for _ in range(dim)) + "]"


# Each column's parameter, cast to the array type it is unnested as. Literal SQL objects, one
# per type: the statement is composed from these, never from text built at run time.
_VARCHAR_ARRAY = sql.SQL("%b::varchar[]")
_VECTOR_ARRAY = sql.SQL("%b::text[]::vector[]")
_PAYLOAD_ARRAY = {
    "text": sql.SQL("%b::text[]"),
    "varchar255": sql.SQL("%b::varchar[]"),
    "jsonb": sql.SQL("%b::text[]::jsonb[]"),
}


class Operation:
    """A statement the harness runs: a query with placeholders and its parameters.

    Parameters are bound by the driver (fast); the replay script gets the same statement
    with the values merged in as literals.
    """

    def query(self) -> tuple[sql.Composed, list[Any]]:
        raise NotImplementedError


@dataclass(frozen=True)
class Upsert(Operation):
    """``INSERT … ON CONFLICT (workspace, id) DO UPDATE``: LightRAG's batched write."""

    table: str
    rows: tuple[Row, ...]
    vector_dim: int = 1024

    def query(self) -> tuple[sql.Composed, list[Any]]:
        # One array parameter per column, unnested server-side: a batch of any size is a
        # statement with four parameters (cheap to bind, parse and plan).
        column, kind = PAYLOAD[self.table]
        has_vector = any(r.vector_seed is not None for r in self.rows)
        names = ["workspace", "id", column]
        arrays = [_VARCHAR_ARRAY, _VARCHAR_ARRAY, _PAYLOAD_ARRAY[kind]]
        params: list[Any] = [
            [r.workspace for r in self.rows],
            [r.id for r in self.rows],
            [_payload(r) for r in self.rows],
        ]
        if has_vector:
            names.append(VECTOR_COLUMN)
            arrays.append(_VECTOR_ARRAY)
            dim = self.vector_dim
            params.append([
                None if r.vector_seed is None else _vector_text(r.vector_seed % 256, dim)
                for r in self.rows
            ])
        updates = [
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n)) for n in names[2:]
        ]
        query = sql.SQL(
            "INSERT INTO {t} ({cols}) SELECT * FROM unnest({arrays}) "
            "ON CONFLICT (workspace, id) DO UPDATE SET {updates}"
        ).format(
            t=sql.Identifier(self.table),
            cols=sql.SQL(", ").join(map(sql.Identifier, names)),
            arrays=sql.SQL(", ").join(arrays),
            updates=sql.SQL(", ").join(updates),
        )
        return query, params


@dataclass(frozen=True)
class Delete(Operation):
    """``DELETE … WHERE workspace = $1 AND id = ANY($2)``: LightRAG's delete."""

    table: str
    workspace: str
    ids: tuple[str, ...]

    def query(self) -> tuple[sql.Composed, list[Any]]:
        query = sql.SQL("DELETE FROM {} WHERE workspace = %s AND id = ANY(%s)").format(
            sql.Identifier(self.table)
        )
        return query, [self.workspace, list(self.ids)]


@dataclass(frozen=True)
class DeleteWorkspace(Operation):
    """``DELETE … WHERE workspace = $1``: LightRAG dropping a knowledge base's rows."""

    table: str
    workspace: str

    def query(self) -> tuple[sql.Composed, list[Any]]:
        query = sql.SQL("DELETE FROM {} WHERE workspace = %s").format(sql.Identifier(self.table))
        return query, [self.workspace]


@dataclass(frozen=True)
class Move(Operation):
    """An update of workspace: rows re-filed under another tenant or knowledge base."""

    table: str
    old: str
    new: str
    ids: tuple[str, ...]

    def query(self) -> tuple[sql.Composed, list[Any]]:
        query = sql.SQL(
            "UPDATE {} SET workspace = %s WHERE workspace = %s AND id = ANY(%s)"
        ).format(sql.Identifier(self.table))
        return query, [self.new, self.old, list(self.ids)]


@dataclass(frozen=True)
class DeleteTenant(Operation):
    """An operator removing a tenant from the registry."""

    tenant_id: str

    def query(self) -> tuple[sql.Composed, list[Any]]:
        return sql.Composed([sql.SQL("DELETE FROM tenants WHERE tenant_id = %s")]), [self.tenant_id]
