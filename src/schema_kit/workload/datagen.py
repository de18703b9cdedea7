"""LightRAG-like rows for the 9 data tables, skewed over tenants, and a COPY loader.

A few tenants hold most rows and a long tail holds few (Zipf weights over tenant rank), the
way a shared deployment looks. Everything derives from ``seed``: the same Dataset yields the
same rows, so a benchmark on 1M rows can be rebuilt exactly. A row is a pure function of
(table, workspace, index), which lets the write benchmarks make fresh rows of the same shape.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

__all__ = ["TABLES", "Dataset", "Loaded", "Pick", "Table", "load"]

Row = tuple[object, ...]
_T0 = "2025-01-06 09:00:00+00"
_T1 = "2025-02-17 16:30:00+00"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    weight: int  # share of all rows, in percent: chunks and vectors dominate, as in LightRAG
    make: Callable[[Dataset, str, int, str], Row]


@dataclass(frozen=True)
class Pick:
    """A tenant and one of its knowledge bases, chosen for the benchmarks."""

    tenant: str
    kb: str
    tenant_rows: int
    kb_rows: int

    @property
    def workspace(self) -> str:
        return f"{self.tenant}:{self.kb}"


@dataclass(frozen=True)
class Loaded:
    """A database that holds a Dataset, what loading it took (seconds per phase) and the
    sizes (bytes) its loader measured."""

    dsn: str
    dataset: Dataset
    timings: dict[str, float]
    sizes: dict[str, int] = field(default_factory=dict)


def _chunk(ds: Dataset, ws: str, i: int, rid: str) -> Row:
    doc = ds.row_id("lightrag_doc_full", ws, i // 8)
    cache = f'["{ds.row_id("lightrag_llm_cache", ws, i)}"]'
    return (rid, ws, doc, i % 8, 300 + i % 900, ds.text(i), f"docs/{doc}.pdf", cache, _T0, _T1)


def _vdb_chunk(ds: Dataset, ws: str, i: int, rid: str) -> Row:
    return (*_chunk(ds, ws, i, rid)[:8], ds.vector(i), _T0, _T1)


def _entity(ds: Dataset, ws: str, i: int, rid: str) -> Row:
    name = ds.word(i) + " " + ds.word(i * 7 + 3)
    chunks = "{" + ds.row_id("lightrag_doc_chunks", ws, i // 3) + "}"
    return (rid, ws, name, f"{name}\n{ds.text(i)[:240]}", ds.vector(i), _T0, _T1, chunks, "a.pdf")


def _relation(ds: Dataset, ws: str, i: int, rid: str) -> Row:
    src, dst = ds.row_id("lightrag_vdb_entity", ws, i), ds.row_id("lightrag_vdb_entity", ws, i + 1)
    chunks = "{" + ds.row_id("lightrag_doc_chunks", ws, i // 3) + "}"
    return (rid, ws, src, dst, ds.text(i)[:300], ds.vector(i), _T0, _T1, chunks, "a.pdf")


def _cache(ds: Dataset, ws: str, i: int, rid: str) -> Row:
    chunk = ds.row_id("lightrag_doc_chunks", ws, i)
    mode = ("extract", "hybrid", "local", "global")[i % 4]
    param = f'{{"mode": "{mode}", "top_k": 60}}'
    return (ws, rid, ds.text(i)[:500], ds.text(i + 1)[:300], chunk, mode, param, _T0, _T1)


def _status(ds: Dataset, ws: str, i: int, rid: str) -> Row:
    state = ("processed", "processed", "processed", "pending", "failed")[i % 5]
    chunks = f'["{ds.row_id("lightrag_doc_chunks", ws, 8 * i)}"]'
    meta = f'{{"pages": {1 + i % 40}}}'
    return (ws, rid, ds.text(i)[:100], 4000 + i, 8, state, "a.pdf", chunks, f"t-{i}", meta, None,
            _T0, _T1)


def _full_doc(ds: Dataset, ws: str, i: int, rid: str) -> Row:
    meta = f'{{"source": "upload", "pages": {1 + i % 40}}}'
    return (rid, ws, f"report-{i}.pdf", ds.text(i) * 3, meta, _T0[:19], _T1[:19])


def _full_graph(ds: Dataset, ws: str, i: int, rid: str) -> Row:
    names = '["' + ds.word(i) + '", "' + ds.word(i + 1) + '"]'
    return (rid, ws, names, 2, _T0[:19], _T1[:19])


_CHUNK_COLS = ("id", "workspace", "full_doc_id", "chunk_order_index", "tokens", "content",
               "file_path", "llm_cache_list")
_TIMES = ("create_time", "update_time")
TABLES: tuple[Table, ...] = (
    Table("lightrag_doc_full", ("id", "workspace", "doc_name", "content", "meta", *_TIMES),
          3, _full_doc),
    Table("lightrag_doc_chunks", (*_CHUNK_COLS, *_TIMES), 16, _chunk),
    Table("lightrag_vdb_chunks", (*_CHUNK_COLS, "content_vector", *_TIMES), 16, _vdb_chunk),
    Table("lightrag_vdb_entity", ("id", "workspace", "entity_name", "content", "content_vector",
          *_TIMES, "chunk_ids", "file_path"), 22, _entity),
    Table("lightrag_vdb_relation", ("id", "workspace", "source_id", "target_id", "content",
          "content_vector", *_TIMES, "chunk_ids", "file_path"), 20, _relation),
    Table("lightrag_llm_cache", ("workspace", "id", "original_prompt", "return_value", "chunk_id",
          "cache_type", "queryparam", *_TIMES), 14, _cache),
    Table("lightrag_doc_status", ("workspace", "id", "content_summary", "content_length",
          "chunks_count", "status", "file_path", "chunks_list", "track_id", "metadata",
          "error_msg", "created_at", "updated_at"), 3, _status),
    Table("lightrag_full_entities", ("id", "workspace", "entity_names", "count", *_TIMES),
          3, _full_graph),
    Table("lightrag_full_relations", ("id", "workspace", "relation_pairs", "count", *_TIMES),
          3, _full_graph),
)
_BY_NAME = {t.name: t for t in TABLES}
_PREFIX = {"lightrag_doc_full": "doc-", "lightrag_doc_status": "doc-",
           "lightrag_vdb_entity": "ent-", "lightrag_vdb_relation": "rel-",
           "lightrag_llm_cache": "cache-"}


class Dataset:
    """The plan of a load: tenants, kbs, and how many rows each workspace has in each table."""

    def __init__(self, rows: int, *, seed: int = 0, vector_dim: int = 1024,
                 tenants: int | None = None, skew: float = 1.3) -> None:
        self.rows, self.seed, self.vector_dim = rows, seed, vector_dim
        rng = random.Random(seed)
        n_tenants = tenants or max(20, min(5000, rows // 200))
        self.workspaces: list[tuple[str, str]] = []
        weights: list[float] = []
        for rank in range(1, n_tenants + 1):
            # Bigger tenants run more knowledge bases; the tail runs one each.
            n_kbs = max(1, min(8, round(8 / rank**0.5)))
            harmonic = sum(1 / j for j in range(1, n_kbs + 1))
            for j in range(1, n_kbs + 1):
                self.workspaces.append((f"tenant{rank:04d}", f"kb{j:02d}"))
                weights.append(rank**-skew / (j * harmonic))
        self.tenants = [f"tenant{rank:04d}" for rank in range(1, n_tenants + 1)]
        self._index = {f"{t}:{k}": i for i, (t, k) in enumerate(self.workspaces)}
        cum = [0.0]
        for w in weights:
            cum.append(cum[-1] + w)
        self.table_rows = self._split(rows)
        # Arrival order: tenants interleave over time, so a tenant's rows are scattered over
        # the heap as in a live shared database, not clustered by a bulk load per tenant.
        self.order = {t.name: rng.choices(range(len(weights)), cum_weights=cum[1:],
                                          k=self.table_rows[t.name]) for t in TABLES}
        self.counts = {name: Counter(seq) for name, seq in self.order.items()}
        self._words = ["".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou")
                               for _ in range(rng.randint(2, 4))) for _ in range(400)]
        self._texts = [" ".join(rng.choices(self._words, k=rng.randint(120, 240)))
                       for _ in range(64)]
        self._vectors = ["[" + ",".join(f"{rng.uniform(-1, 1):.3f}" for _ in range(vector_dim))
                         + "]" for _ in range(32)]

    @staticmethod
    def _split(rows: int) -> dict[str, int]:
        # Largest remainder, so the 9 tables add up to exactly `rows`.
        total = sum(t.weight for t in TABLES)
        exact = {t.name: rows * t.weight / total for t in TABLES}
        out = {name: int(v) for name, v in exact.items()}
        for name in sorted(exact, key=lambda n: out[n] - exact[n])[: rows - sum(out.values())]:
            out[name] += 1
        return out

    def word(self, i: int) -> str:
        return self._words[i % len(self._words)]

    def text(self, i: int) -> str:
        return self._texts[i % len(self._texts)]

    def vector(self, i: int) -> str:
        return self._vectors[i % len(self._vectors)]

    def row_id(self, table: str, ws: str, i: int) -> str:
        digest = hashlib.blake2b(f"{self.seed}|{table}|{ws}|{i}".encode(), digest_size=16)
        return _PREFIX.get(table, "chunk-") + digest.hexdigest()

    def rows_of(self, table: str) -> Iterator[Row]:
        """Every row of ``table`` in arrival order, columns as ``Table.columns``."""
        spec, seen = _BY_NAME[table], Counter[int]()
        for w in self.order[table]:
            ws, i = ":".join(self.workspaces[w]), seen[w]
            seen[w] += 1
            yield spec.make(self, ws, i, self.row_id(table, ws, i))

    def fresh_rows(self, table: str, workspace: str, n: int, start: int = 10**9) -> list[Row]:
        """Rows the load did not write (indexes from ``start``), for write benchmarks."""
        make = _BY_NAME[table].make
        return [make(self, workspace, i, self.row_id(table, workspace, i))
                for i in range(start, start + n)]

    def ids(self, table: str, workspace: str, n: int) -> list[str]:
        """The ids of up to ``n`` loaded rows of ``workspace`` in ``table``."""
        have = self.counts[table][self._index[workspace]]
        return [self.row_id(table, workspace, i) for i in range(min(n, have))]

    def kb_rows(self, table: str | None = None) -> Counter[tuple[str, str]]:
        names = [table] if table else [t.name for t in TABLES]
        out = Counter[tuple[str, str]]()
        for name in names:
            for w, count in self.counts[name].items():
                out[self.workspaces[w]] += count
        return out

    def tenant_rows(self) -> Counter[str]:
        out = Counter[str]()
        for (tenant, _kb), count in self.kb_rows().items():
            out[tenant] += count
        return out

    def pick(self, size: str, small_rows: int = 60) -> Pick:
        """``large``: the top tenant's main kb. ``small``: the tenant nearest ``small_rows``
        rows in total whose main kb has rows in every table the queries read, so the small
        tenant stays the same size while the tables grow."""
        by_kb, per_tenant = self.kb_rows(), self.tenant_rows()
        if size == "large":
            tenant = self.tenants[0]
        else:
            needed = ("lightrag_doc_chunks", "lightrag_vdb_entity", "lightrag_vdb_relation")
            served = {self.workspaces[w][0] for w in set.intersection(
                *(set(self.counts[n]) for n in needed))}
            tenant = min((t for t in self.tenants if t in served),
                         key=lambda t: (abs(per_tenant[t] - small_rows), t))
        kb = max((k for (t, k) in by_kb if t == tenant), key=lambda k: (by_kb[tenant, k], k))
        return Pick(tenant, kb, per_tenant[tenant], by_kb[tenant, kb])


def _copy(conn: psycopg.Connection[Any], table: str, columns: tuple[str, ...],
          rows: Iterator[Row] | list[Row]) -> None:
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    with conn.cursor() as cur, cur.copy(stmt) as copy:
        for row in rows:
            copy.write_row(row)


def load(conn: psycopg.Connection[Any], ds: Dataset) -> dict[str, float]:
    """Register the tenants and kbs, COPY every table, commit, VACUUM (ANALYZE).

    Registration comes first on purpose: the trigger would register them too, but a schema
    with a (tenant_id, kb_id) foreign key needs them before the first data row.
    Returns seconds per phase.
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    _copy(conn, "tenants", ("tenant_id", "name"), [(t, t) for t in ds.tenants])
    _copy(conn, "knowledge_bases", ("tenant_id", "kb_id", "name"),
          [(t, k, k) for t, k in ds.workspaces])
    timings["register"] = time.perf_counter() - start
    for table in TABLES:
        start = time.perf_counter()
        _copy(conn, table.name, table.columns, ds.rows_of(table.name))
        timings[table.name] = time.perf_counter() - start
    conn.commit()
    # Vacuum, not only ANALYZE, so the visibility map is set as on a settled live database
    # and index-only scans are possible, as they would be in production.
    start = time.perf_counter()
    autocommit = conn.autocommit
    conn.autocommit = True
    try:
        conn.execute("VACUUM (ANALYZE)")
    finally:
        conn.autocommit = autocommit
    timings["vacuum_analyze"] = time.perf_counter() - start
    return timings
