"""Catalog inspection: snapshots of a database's schema objects and their differences."""

from __future__ import annotations

from schema_kit.inspect.snapshot import KINDS, Difference, Snapshot, take_snapshot

__all__ = ["KINDS", "Difference", "Snapshot", "take_snapshot"]
