"""Catalog snapshots as plain data: ``{kind: {qualified name: detail}}``, comparable with ``==``."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg

__all__ = ["KINDS", "Difference", "Snapshot", "take_snapshot"]

_SINGULAR = {
    "extensions": "extension",
    "tables": "table",
    "columns": "column",
    "constraints": "constraint",
    "indexes": "index",
    "triggers": "trigger",
    "functions": "function",
    "policies": "policy",
}
KINDS = tuple(_SINGULAR)


def _query(kind: str) -> str:
    return resources.files("schema_kit.inspect").joinpath("sql", f"{kind}.sql").read_text("utf-8")


@dataclass(frozen=True)
class Snapshot:
    """One database's catalog. Two snapshots are equal when every object is."""

    objects: Mapping[str, Mapping[str, Any]]

    def __getitem__(self, kind: str) -> Mapping[str, Any]:
        return self.objects[kind]

    def names(self, kind: str) -> set[str]:
        return set(self.objects[kind])

    def to_json(self) -> str:
        return json.dumps(self.objects, indent=1, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> Snapshot:
        data = json.loads(text)
        return cls({kind: dict(data.get(kind, {})) for kind in KINDS})

    @classmethod
    def load(cls, path: Path) -> Snapshot:
        return cls.from_json(Path(path).read_text("utf-8"))

    def without_table(self, qualified: str) -> Snapshot:
        """This snapshot less one table and everything on it (its columns, constraints,
        indexes, triggers): e.g. a tool's bookkeeping, which is not the schema under test."""
        def keep(name: str, detail: Any) -> bool:
            on_it = isinstance(detail, Mapping) and detail.get("table") == qualified
            return name != qualified and not name.startswith(qualified + ".") and not on_it

        return Snapshot({kind: {n: d for n, d in objs.items() if keep(n, d)}
                         for kind, objs in self.objects.items()})

    def differences(self, other: Snapshot) -> list[Difference]:
        """Every object that differs between this snapshot (left) and ``other`` (right)."""
        return list(_differences(self, other))

    def diff(self, other: Snapshot, left: str = "the left snapshot",
             right: str = "the right snapshot") -> list[str]:
        """One line per differing object, naming it: ``- kind name``, ``+ kind name`` or ``~``;
        ``left`` and ``right`` name the two sides (a file, a database) in the lines."""
        return [d.line(left, right) for d in self.differences(other)]


@dataclass(frozen=True)
class Difference:
    """One object that differs: only in one side (``only_in`` "left"/"right"), or changed
    (``fields``: each differing field's left and right value)."""

    kind: str  # singular: "column", "index" …
    name: str
    only_in: str | None = None
    fields: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def sign(self) -> str:
        return {"left": "-", "right": "+"}.get(self.only_in or "", "~")

    def line(self, left: str = "the left snapshot", right: str = "the right snapshot") -> str:
        if self.only_in is not None:
            return f"{self.sign} {self.kind} {self.name}: only in " + (
                left if self.only_in == "left" else right)
        changes = "; ".join(f"{f}: {a!r} -> {b!r}" for f, (a, b) in self.fields.items())
        return f"~ {self.kind} {self.name}: {changes}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": {"-": "removed", "+": "added", "~": "changed"}[self.sign],
            "kind": self.kind,
            "name": self.name,
            "only_in": self.only_in,
            "fields": {f: {"left": a, "right": b} for f, (a, b) in self.fields.items()},
        }


def _differences(left: Snapshot, right: Snapshot) -> Iterator[Difference]:
    for kind in KINDS:
        a, b = left.objects.get(kind, {}), right.objects.get(kind, {})
        label = _SINGULAR[kind]
        for name in sorted(set(a) | set(b)):
            if name not in b:
                yield Difference(label, name, "left")
            elif name not in a:
                yield Difference(label, name, "right")
            elif a[name] != b[name]:
                fields = sorted(
                    f for f in set(a[name]) | set(b[name]) if a[name].get(f) != b[name].get(f)
                )
                yield Difference(
                    label, name, fields={f: (a[name].get(f), b[name].get(f)) for f in fields}
                )


def take_snapshot(conn: psycopg.Connection[Any]) -> Snapshot:
    """Read the catalog of the database behind ``conn`` (read-only; leaves no transaction open)."""
    objects: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        rows = conn.execute(_query(kind).encode()).fetchall()
        objects[kind] = {key: detail for key, detail in rows}
    if not conn.autocommit:
        conn.rollback()
    return Snapshot(objects)
