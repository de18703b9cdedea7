"""LightRAG's own write statements, composed with literals so a failure replays exactly.

Each operation renders to one SQL statement (``psycopg.sql.Composed``); the harness runs that
statement and, when an invariant breaks, writes the same text into the replay script.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import sql

__all__ = ["Delete", "DeleteTenant", "Move", "Operation", "Row", "Upsert"]

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


def _payload(row: Row) -> sql.Composable:
    _, kind = PAYLOAD[row.table]
    if kind == "jsonb":
        return sql.SQL("{}::jsonb").format(sql.Literal(json.dumps([row.content])))
    if kind == "varchar255":
        return sql.Literal(row.content[:255])
    return sql.Literal(row.content)


def _vector(row: Row, dim: int) -> sql.Composable:
    if row.vector_seed is None:
        return sql.NULL
    rng = random.Random(row.vector_seed)
    text = "[" + ",".join(f"{rng.uniform(-1, 1):.3f}" for _ in range(dim)) + "]"
    return sql.SQL("{}::vector").format(sql.Literal(text))


def _ids(ids: Sequence[str]) -> sql.Composable:
    return sql.SQL("ARRAY[{}]::varchar[]").format(sql.SQL(", ").join(map(sql.Literal, ids)))


class Operation:
    """A statement the harness runs; ``statement()`` is the exact SQL."""

    def statement(self) -> sql.Composed:
        raise NotImplementedError


@dataclass(frozen=True)
class Upsert(Operation):
    """``INSERT … ON CONFLICT (workspace, id) DO UPDATE``: LightRAG's batched write."""

    table: str
    rows: tuple[Row, ...]
    vector_dim: int = 1024

    def statement(self) -> sql.Composed:
        column, _ = PAYLOAD[self.table]
        has_vector = any(r.vector_seed is not None for r in self.rows)
        names = ["workspace", "id", column] + ([VECTOR_COLUMN] if has_vector else [])
        values = []
        for row in self.rows:
            items = [sql.Literal(row.workspace), sql.Literal(row.id), _payload(row)]
            if has_vector:
                items.append(_vector(row, self.vector_dim))
            values.append(sql.SQL("({})").format(sql.SQL(", ").join(items)))
        updates = [
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n)) for n in names[2:]
        ]
        return sql.SQL(
            "INSERT INTO {t} ({cols}) VALUES {values} "
            "ON CONFLICT (workspace, id) DO UPDATE SET {updates}"
        ).format(
            t=sql.Identifier(self.table),
            cols=sql.SQL(", ").join(map(sql.Identifier, names)),
            values=sql.SQL(", ").join(values),
            updates=sql.SQL(", ").join(updates),
        )


@dataclass(frozen=True)
class Delete(Operation):
    """``DELETE … WHERE workspace = $1 AND id = ANY($2)``: LightRAG's delete."""

    table: str
    workspace: str
    ids: tuple[str, ...]

    def statement(self) -> sql.Composed:
        return sql.SQL("DELETE FROM {} WHERE workspace = {} AND id = ANY({})").format(
            sql.Identifier(self.table), sql.Literal(self.workspace), _ids(self.ids)
        )


@dataclass(frozen=True)
class Move(Operation):
    """An update of workspace: rows re-filed under another tenant or knowledge base."""

    table: str
    old: str
    new: str
    ids: tuple[str, ...]

    def statement(self) -> sql.Composed:
        return sql.SQL("UPDATE {} SET workspace = {} WHERE workspace = {} AND id = ANY({})").format(
            sql.Identifier(self.table), sql.Literal(self.new), sql.Literal(self.old),
            _ids(self.ids),
        )


@dataclass(frozen=True)
class DeleteTenant(Operation):
    """An operator removing a tenant from the registry."""

    tenant_id: str

    def statement(self) -> sql.Composed:
        return sql.SQL("DELETE FROM tenants WHERE tenant_id = {}").format(
            sql.Literal(self.tenant_id)
        )
