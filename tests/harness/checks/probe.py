"""A probe check the registry tests add, to see it run everywhere the registry is used.

As a pytest plugin (``-p tests.harness.checks.probe``) it registers the probe before any test
module is imported, so every parametrization over the registry picks it up.
"""

from __future__ import annotations

from typing import Any

import pytest
from psycopg import sql

from schema_kit.checks import REGISTRY, Check, DataTarget, Needs
from schema_kit.checks.invariants import all_rows

PROBE_ID = "r1"  # the deterministic tour writes rows with this id, so the probe fires there


def _rows_with_the_probe_id(target: DataTarget) -> list[tuple[Any, ...]]:
    query = sql.SQL("SELECT tbl, workspace, id FROM (\n{}\n) AS r WHERE id = {} ORDER BY 1, 2")
    composed = query.format(all_rows(target.tables), sql.Literal(PROBE_ID))
    return [tuple(r) for r in target.conn.execute(composed).fetchall()]


PROBE = Check(
    "probe_no_row_with_id_r1", "invariant", f"no row has the id {PROBE_ID!r} (a probe check)",
    Needs.DATABASE, ("tbl", "workspace", "id"), violations=_rows_with_the_probe_id,
)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if PROBE.name not in REGISTRY:
        REGISTRY.register(PROBE)
