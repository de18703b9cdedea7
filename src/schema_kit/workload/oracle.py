"""The reference model: what the schema must do, in pure Python.

``parse`` is the oracle of workspace -> (tenant_id, kb_id); ``Model`` is what the data tables
and the registry (``tenants``, ``knowledge_bases``) must hold after any sequence of writes.
The model is the contract of SPEC section 4, not a copy of any migration: the seed's 3.0.0 is
expected to disagree with it.

The contract's choices:
- ``tenant_id`` is the text before the first ``:``, ``kb_id`` everything after it, so
  ``a:b:c`` is (``a``, ``b:c``) and never shares a partition with ``a:b``.
- Both parts must be non-empty. A workspace without ``:`` (legacy), ``:b``, ``a:`` and ``:`` are
  refused, and so is anything PostgreSQL cannot store in ``VARCHAR(255)`` (NUL, > 255 chars).
- Whitespace, case and unicode are kept as written: distinct workspaces stay distinct.
- Deleting a tenant deletes its knowledge bases and every row in them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["MAX_WORKSPACE_CHARS", "Model", "Partition", "RowKey", "parse", "refusal"]

MAX_WORKSPACE_CHARS = 255


@dataclass(frozen=True, order=True)
class Partition:
    tenant_id: str
    kb_id: str


@dataclass(frozen=True, order=True)
class RowKey:
    table: str
    workspace: str
    id: str


def refusal(workspace: str) -> str | None:
    """Why the contract refuses ``workspace``, or None when it is accepted."""
    if "\x00" in workspace:
        return "contains NUL, which PostgreSQL text cannot hold"
    if len(workspace) > MAX_WORKSPACE_CHARS:
        return f"is {len(workspace)} characters, over VARCHAR({MAX_WORKSPACE_CHARS})"
    tenant, sep, kb = workspace.partition(":")
    if not sep:
        return "has no ':' separating tenant and knowledge base"
    if not tenant:
        return "has an empty tenant"
    if not kb:
        return "has an empty knowledge base"
    return None


@functools.lru_cache(maxsize=65536)
def parse(workspace: str) -> Partition | None:
    """The oracle: the workspace's (tenant_id, kb_id), or None when the contract refuses it."""
    if refusal(workspace) is not None:
        return None
    tenant, _, kb = workspace.partition(":")
    return Partition(tenant, kb)


@dataclass
class Model:
    """The expected state of the data tables and the registry."""

    rows: dict[RowKey, Partition] = field(default_factory=dict)
    tenants: set[str] = field(default_factory=set)
    kbs: set[Partition] = field(default_factory=set)

    def _register(self, partition: Partition) -> None:
        self.tenants.add(partition.tenant_id)
        self.kbs.add(partition)

    def upsert(self, table: str, keys: Iterable[tuple[str, str]]) -> bool:
        """One INSERT ... ON CONFLICT statement: all rows or, if one is refused, none."""
        keys = list(keys)
        partitions = {w: parse(w) for w in {w for w, _ in keys}}
        if None in partitions.values():
            return False
        for workspace, row_id in keys:
            self.rows[RowKey(table, workspace, row_id)] = partitions[workspace]  # type: ignore[assignment]
        for partition in partitions.values():
            assert partition is not None
            self._register(partition)
        return True

    def move(self, table: str, old: str, new: str, ids: Iterable[str]) -> bool:
        """``UPDATE t SET workspace = new WHERE workspace = old AND id = ANY(ids)``."""
        partition = parse(new)
        moving = [RowKey(table, old, i) for i in ids if RowKey(table, old, i) in self.rows]
        if not moving:
            return True
        if partition is None:
            return False
        targets = {RowKey(table, new, k.id) for k in moving}
        if old != new and any(t in self.rows for t in targets):
            return False  # would collide with an existing (workspace, id): a PK violation
        for key in moving:
            del self.rows[key]
        for target in targets:
            self.rows[target] = partition
        self._register(partition)
        return True

    def delete(self, table: str, workspace: str, ids: Iterable[str]) -> None:
        for row_id in ids:
            self.rows.pop(RowKey(table, workspace, row_id), None)

    def delete_tenant(self, tenant_id: str) -> None:
        self.tenants.discard(tenant_id)
        self.kbs = {kb for kb in self.kbs if kb.tenant_id != tenant_id}
        self.rows = {k: p for k, p in self.rows.items() if p.tenant_id != tenant_id}

    def workspaces(self) -> set[str]:
        return {k.workspace for k in self.rows}

    def tenant_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for partition in self.rows.values():
            counts[partition.tenant_id] = counts.get(partition.tenant_id, 0) + 1
        return counts

    def merged(self, other: Model) -> Model:
        """Both models' rows and registry (``other`` wins where a row key is in both)."""
        return Model({**self.rows, **other.rows}, self.tenants | other.tenants,
                     self.kbs | other.kbs)

    def copy(self) -> Model:
        return Model(dict(self.rows), set(self.tenants), set(self.kbs))
