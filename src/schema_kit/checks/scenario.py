"""A deterministic tour of the contract's edges, and ``detect``: any registered check on a chain.

The Hypothesis suite searches; this tour walks the known edges in a fixed order so a
candidate chain (a mutant, a release candidate) is judged in about a second per check. A data
check is run after every step of the tour; a chain check runs its own ``detect``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from schema_kit.checks.registry import ChainTarget, Check, Found
from schema_kit.checks.runner import session_target
from schema_kit.config import DEFAULT_UPGRADE_ROWS
from schema_kit.db.databases import Templates
from schema_kit.workload.session import WriteSession
from schema_kit.workload.strategies import Batch
from schema_kit.workload.tables import DATA_TABLES, tenant_tables
from schema_kit.workload.writes import DeleteTenant, Move, Row

__all__ = ["REFUSED", "detect", "tour", "tour_findings"]

REFUSED = ("legacy", "a:", ":b", ":")


def tour(session: WriteSession) -> Iterator[str]:
    """Run the tour one step at a time; yields after each step (its name) for the checks."""
    # Each table gets a tenant of its own, so a defect confined to one table shows.
    rows = [Row(t, f"t{n}:kb", "r1", "x") for n, t in enumerate(DATA_TABLES)]
    rows += [Row(t, ws, f"r-{ws}", "x") for t in DATA_TABLES[:2] for ws in ("a:b", "a:b:c")]
    session.write(Batch(tuple(rows)))
    yield "new tenants in every table"
    session.write(Batch(tuple(Row(r.table, r.workspace, "r2", "y") for r in rows)))
    yield "the same tenants again (registration is idempotent)"
    for workspace in REFUSED:
        session.write(Batch(tuple(Row(t, workspace, "bad", "x") for t in DATA_TABLES)))
    yield "refused workspaces"
    for n, table in enumerate(DATA_TABLES):
        session.move(Move(table, f"t{n}:kb", f"moved{n}:kb", ("r1",)))
    yield "rows moved to new tenants"
    for tenant in ("t0", "moved1"):
        session.delete_tenant(DeleteTenant(tenant))
    yield "tenants deleted"


def tour_findings(
    checks: Sequence[Check], templates: Templates, version: str = "head", dim: int = 1024
) -> dict[str, Found]:
    """Run the tour once on a fresh clone, judging each data check after every step until it
    first fails; ``{name: Found}`` with each check's own query time in ``detail``."""
    found = {c.name: Found(examples=1, detail=0.0) for c in checks}
    with templates.database(version) as db, db.connect() as conn:
        session = WriteSession(conn, version, dim)
        if not tenant_tables(conn):  # before the tenant columns (1.0.0): nothing to judge
            none = "no table under the tenant contract at this version"
            return {c.name: Found(skipped=none) for c in checks}
        for check in checks:
            reason = check.skip_when(conn) if check.skip_when is not None else None
            if reason:
                found[check.name] = Found(skipped=reason)
        try:
            for _step in tour(session):
                target = session_target(session)
                for check in (c for c in checks
                              if not found[c.name].rows and not found[c.name].skipped):
                    start = time.perf_counter()
                    found[check.name].rows = check.run(target)
                    found[check.name].detail += time.perf_counter() - start
        finally:
            conn.rollback()
    return found


def detect(
    check: Check, templates: Templates, version: str = "head", dim: int = 1024, *,
    replay_dir: Path | None = None, upgrade_rows: int = DEFAULT_UPGRADE_ROWS,
) -> Found:
    """What ``check`` finds on the chain behind ``templates`` at ``version`` (holds: no rows);
    a chain check that writes replay files writes them under ``replay_dir``; ``upgrade_rows``
    is the size a check that loads data before upgrading loads."""
    target = ChainTarget(templates, version, dim, replay_dir, upgrade_rows)
    if check.is_data:
        return tour_findings([check], templates, version, dim)[check.name]
    if check.detect is None:
        raise TypeError(f"chain check {check.name!r} has no detect function")
    return check.detect(target)
