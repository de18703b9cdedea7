"""What the committed transactions of a schedule must have left, whatever the interleaving.

Under READ COMMITTED the final state of a row two sessions both touched depends on timing
(a delete may not see a row inserted after its snapshot), so the oracle judges only what
every interleaving agrees on:

- a committed transaction that shares no row, kb or tenant with any other committed one left
  exactly what it would have left alone (its writes replayed on the reference model);
- a row some committed transaction upserted and none moved or deleted is present;
- no row and no registered (tenant, kb) comes from anything but a committed transaction
  (a rolled-back or failed one leaves nothing).

The model-free checks (extraction, registration of every row, disjoint partitions) judge the
rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from schema_kit.workload.oracle import Model, Partition, parse
from schema_kit.workload.scheduler import TransactionOutcome
from schema_kit.workload.schedules import POOL, TABLES, TENANTS, Step

__all__ = ["Footprint", "committed_violations", "expected_alone", "footprint"]

Key = tuple[str, str, str]  # table, workspace, id
Violation = tuple[str, str]


def _tenant(workspace: str) -> str:
    partition = parse(workspace)
    return partition.tenant_id if partition else workspace


@dataclass
class Footprint:
    """What a transaction's writes may have touched: row keys, kbs of a table, tenants."""

    keys: set[Key] = field(default_factory=set)
    workspaces: set[tuple[str, str]] = field(default_factory=set)
    tenants: set[str] = field(default_factory=set)

    def touches(self, key: Key) -> bool:
        return (key in self.keys or (key[0], key[1]) in self.workspaces
                or _tenant(key[1]) in self.tenants)

    def meets(self, other: Footprint) -> bool:
        return (any(other.touches(k) for k in self.keys)
                or any(self.touches(k) for k in other.keys)
                or bool(self.workspaces & other.workspaces or self.tenants & other.tenants)
                or any(_tenant(w) in other.tenants for _, w in self.workspaces)
                or any(_tenant(w) in self.tenants for _, w in other.workspaces))


def footprint(steps: tuple[Step, ...], upserts: bool = True) -> Footprint:
    """The footprint of ``steps`` (``upserts=False``: of its moves and deletes only)."""
    found = Footprint()
    for step in steps:
        if step.action in ("upsert", "upsert_one"):
            if upserts:
                found.keys |= {(step.table, step.workspace, i) for i in step.ids}
        elif step.action == "move":
            found.keys |= {(step.table, w, i) for w in (step.workspace, step.target)
                           for i in step.ids}
        elif step.action == "delete":
            found.keys |= {(step.table, step.workspace, i) for i in step.ids}
        elif step.action == "delete_kb":
            found.workspaces.add((step.table, step.workspace))
        elif step.action == "delete_tenant":
            found.tenants.add(step.tenant)
    return found


def expected_alone(steps: tuple[Step, ...]) -> Model:
    """What ``steps`` leave when they run alone on an empty database."""
    model = Model()
    for step in steps:
        if step.action in ("upsert", "upsert_one"):
            model.upsert(step.table, [(step.workspace, i) for i in step.ids])
        elif step.action == "move":
            model.move(step.table, step.workspace, step.target, step.ids)
        elif step.action == "delete":
            model.delete(step.table, step.workspace, step.ids)
        elif step.action == "delete_kb":
            model.rows = {k: p for k, p in model.rows.items()
                          if (k.table, k.workspace) != (step.table, step.workspace)}
        elif step.action == "delete_tenant":
            model.delete_tenant(step.tenant)
    return model


def _written(steps: tuple[Step, ...]) -> set[Key]:
    keys: set[Key] = set()
    for step in steps:
        if step.action in ("upsert", "upsert_one", "move"):
            workspace = step.target if step.action == "move" else step.workspace
            keys |= {(step.table, workspace, i) for i in step.ids}
    return keys


def stored(conn: psycopg.Connection[Any]) -> tuple[set[Key], set[Partition]]:
    """The schedule pool's rows and registered kbs as committed now."""
    keys: set[Key] = set()
    for table in TABLES:
        query = sql.SQL("SELECT workspace, id FROM {} WHERE workspace = ANY(%s)").format(
            sql.Identifier(table))
        keys |= {(table, str(w), str(i)) for w, i in conn.execute(query, [list(POOL)])}
    kbs: set[Partition] = set()
    if conn.execute("SELECT to_regclass('knowledge_bases') IS NOT NULL").fetchone() == (True,):
        kbs = {Partition(str(t), str(k)) for t, k in conn.execute(
            "SELECT tenant_id, kb_id FROM knowledge_bases WHERE tenant_id = ANY(%s)",
            [list(TENANTS)])}
    return keys, kbs


def committed_violations(
    committed: list[TransactionOutcome], keys: set[Key], kbs: set[Partition]
) -> list[Violation]:
    """Where the stored ``keys`` and ``kbs`` disagree with the ``committed`` transactions."""
    found: list[Violation] = []
    prints = [footprint(t.steps) for t in committed]
    for n, t in enumerate(committed):
        if any(prints[n].meets(p) for m, p in enumerate(prints) if m != n):
            continue
        expected = {(k.table, k.workspace, k.id) for k in expected_alone(t.steps).rows}
        actual = {k for k in keys if prints[n].touches(k)}
        name = f"s{t.session + 1} tx{t.number}"
        found += [("lost row", f"{k} written by {name}, alone on it") for k in
                  sorted(expected - actual)]
        found += [("unexpected row", f"{k} where {name} alone wrote") for k in
                  sorted(actual - expected)]
    destructive = [footprint(t.steps, upserts=False) for t in committed]
    upserted = {(s.table, s.workspace, i) for t in committed for s in t.steps
                if s.action in ("upsert", "upsert_one") for i in s.ids}
    for key in sorted(upserted - keys):
        if not any(d.touches(key) for d in destructive):
            found.append(("lost row", f"{key} upserted by committed transactions, never "
                                      "moved or deleted"))
    written = set().union(*(_written(t.steps) for t in committed)) if committed else set()
    found += [("row of no committed transaction", str(k)) for k in sorted(keys - written)]
    introduced = {p for t in committed for s in t.steps for p in s.partitions()}
    found += [("kb registered by no committed transaction", f"{p.tenant_id}:{p.kb_id}")
              for p in sorted(kbs - introduced)]
    return found
