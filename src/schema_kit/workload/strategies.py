"""Hypothesis strategies: awkward workspaces and skewed multi-tenant row batches.

A batch is a handful of hand-picked awkward rows (which shrink well) plus a bulk of ordinary
rows expanded from a seeded PRNG (cheap to generate, so an example carries hundreds of rows).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import strategies as st

from schema_kit.workload.tables import DATA_TABLES, VECTOR_TABLES
from schema_kit.workload.writes import Row, Upsert

__all__ = ["Batch", "awkward_workspaces", "batches", "tenant_names", "workspaces"]

# Edges the seed gets wrong or a careless fix might: separators, emptiness, near-duplicates.
EDGE_WORKSPACES = (
    "legacy", "x", "x:default", "a:", ":b", ":", "::", "a:b", "a:b:c", "a::b", " a:b", "a:b ",
    "A:b", "a:B", "%:_", "'; DROP TABLE tenants; --:kb", "a\\:b", "t:\n", "\u00e9:kb",
    "e\u0301:kb", "\u05d0\u05d1:\u05d2", "\U0001f600:\U0001f680", "t" * 200 + ":" + "k" * 54,
    "t" * 200 + ":" + "k" * 55, "nul\x00:kb",
)

_name_chars = st.characters(
    codec="utf-8", exclude_characters=":", exclude_categories=["Cs"]
)


def tenant_names() -> st.SearchStrategy[str]:
    """Non-empty names without ':' (any unicode, SQL metacharacters, whitespace)."""
    return st.one_of(
        st.sampled_from(["acme", "globex", "initech", "umbrella", "t1", "T1", "o'brien", "50%"]),
        st.text(_name_chars, min_size=1, max_size=12),
    )


def workspaces() -> st.SearchStrategy[str]:
    """Well-formed ``tenant:kb`` workspaces (kb may itself contain ':')."""
    nested = st.builds(lambda a, b: f"{a}:{b}", tenant_names(), tenant_names())
    kb = st.one_of(tenant_names(), nested)
    return st.builds(lambda t, k: f"{t}:{k}", tenant_names(), kb).filter(lambda w: len(w) <= 255)


def awkward_workspaces() -> st.SearchStrategy[str]:
    """Anything a caller might send: edge cases, arbitrary text, near-duplicates of valid ones."""
    return st.one_of(
        st.sampled_from(EDGE_WORKSPACES),
        workspaces(),
        st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20),
    )


@dataclass(frozen=True)
class Batch:
    """Rows for one example, grouped into one upsert statement per table."""

    rows: tuple[Row, ...]

    def statements(self, vector_dim: int) -> list[Upsert]:
        by_table: dict[str, dict[tuple[str, str], Row]] = {}
        for row in self.rows:
            # One statement may not touch a (workspace, id) twice (ON CONFLICT DO UPDATE).
            by_table.setdefault(row.table, {})[(row.workspace, row.id)] = row
        return [
            Upsert(t, tuple(rows.values()), vector_dim) for t, rows in sorted(by_table.items())
        ]

    @property
    def workspaces(self) -> set[str]:
        return {r.workspace for r in self.rows}


def expand(rng: random.Random, pool: Sequence[str], size: int, skew: float) -> list[Row]:
    """``size`` rows over ``pool`` with Zipf-like weights: a few workspaces hold most rows."""
    weights = [1.0 / (rank + 1) ** skew for rank in range(len(pool))]
    chosen = rng.choices(pool, weights=weights, k=size)
    tables = rng.choices(DATA_TABLES, k=size)
    # Ids collide now and then on purpose: upserts must update, not duplicate.
    ids = rng.choices(range(size * 2), k=size)
    vectors = rng.choices(range(1024), k=size)
    return [
        Row(table, workspace, f"doc-{ids[n]}", f"chunk {n} of {workspace[:20]}",
            vectors[n] if table in VECTOR_TABLES and vectors[n] < 100 else None)
        for n, (workspace, table) in enumerate(zip(chosen, tables, strict=True))
    ]


@st.composite
def batches(
    draw: st.DrawFn,
    *,
    min_bulk: int = 0,
    max_bulk: int = 200,
    awkward: bool = True,
) -> Batch:
    """A multi-tenant batch: awkward rows drawn one by one, plus a skewed seeded bulk."""
    pool = draw(st.lists(workspaces(), min_size=1, max_size=12, unique=True))
    odd = draw(st.lists(awkward_workspaces(), max_size=4)) if awkward else []
    explicit = draw(
        st.lists(
            st.builds(
                Row,
                table=st.sampled_from(DATA_TABLES),
                workspace=st.sampled_from(pool + odd),
                id=st.sampled_from(["d1", "d2", "d3", "chunk-'x'", "e\u0301"]),
                content=st.text(max_size=30).filter(lambda s: "\x00" not in s),
            ),
            min_size=1,
            max_size=12,
        )
    )
    size = draw(st.integers(min_bulk, max_bulk))
    seed = draw(st.integers(0, 2**32 - 1))
    skew = draw(st.sampled_from([0.0, 1.0, 1.5]))
    bulk = expand(random.Random(seed), pool, size, skew)
    return Batch(tuple(explicit + bulk))
