"""Catalog snapshots as plain data: ``{kind: {qualified name: detail}}``, comparable with ``==``."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg

__all__ = ["KINDS", "Snapshot", "take_snapshot"]

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

    def diff(self, other: Snapshot) -> list[str]:
        """One line per differing object, naming it: ``- kind name``, ``+ kind name`` or ``~``."""
        return list(_diff_lines(self, other))


def _diff_lines(left: Snapshot, right: Snapshot) -> Iterator[str]:
    for kind in KINDS:
        a, b = left.objects.get(kind, {}), right.objects.get(kind, {})
        label = _SINGULAR[kind]
        for name in sorted(set(a) | set(b)):
            if name not in b:
                yield f"- {label} {name}: only on the left"
            elif name not in a:
                yield f"+ {label} {name}: only on the right"
            elif a[name] != b[name]:
                fields = sorted(
                    f for f in set(a[name]) | set(b[name]) if a[name].get(f) != b[name].get(f)
                )
                changes = "; ".join(
                    f"{f}: {a[name].get(f)!r} -> {b[name].get(f)!r}" for f in fields
                )
                yield f"~ {label} {name}: {changes}"


def take_snapshot(conn: psycopg.Connection[Any]) -> Snapshot:
    """Read the catalog of the database behind ``conn`` (read-only; leaves no transaction open)."""
    objects: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        rows = conn.execute(_query(kind).encode()).fetchall()
        objects[kind] = {key: detail for key, detail in rows}
    if not conn.autocommit:
        conn.rollback()
    return Snapshot(objects)
