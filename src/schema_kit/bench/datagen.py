"""The benchmarks' data generator, under its old name.

It lives in ``schema_kit.workload.datagen`` (a workload: LightRAG-like rows), where the checks
can load it too (the upgrade under load); benchmarks and their tests keep importing it here.
"""

from __future__ import annotations

from schema_kit.workload.datagen import TABLES, Dataset, Loaded, Pick, Table, load

__all__ = ["TABLES", "Dataset", "Loaded", "Pick", "Table", "load"]
