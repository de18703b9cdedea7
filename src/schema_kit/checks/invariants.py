"""The data invariants of SPEC section 4, each one set-based query over every row of every
data table, read from ``checks/sql/*.sql`` and filled in with ``psycopg.sql``.

The model's expectations go into the query as literals, one per line, so the replay script
shows the query exactly as it ran. Model-free checks (audit's) take the workspaces stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql

from schema_kit.checks.registry import Check, DataTarget, Needs, Violation
from schema_kit.workload.oracle import Model, parse

__all__ = [
    "ACCEPTANCE",
    "BAD_INPUT",
    "EXTRACTION",
    "ISOLATION",
    "MEMBERSHIPS_KNOWN",
    "PARTITIONS_DISJOINT",
    "REGISTERED",
    "REGISTRATION",
    "all_rows",
    "query_text",
]


@cache
def query_text(name: str) -> str:
    """The text of ``checks/sql/<name>.sql`` (a literal: only ever wrapped by ``sql.SQL``)."""
    return resources.files("schema_kit.checks").joinpath("sql", f"{name}.sql").read_text("utf-8")


def _sql(name: str) -> sql.SQL:
    return sql.SQL(query_text(name).rstrip("\n"))


def all_rows(tables: Iterable[str]) -> sql.Composed:
    """Every row of ``tables`` as (tbl, workspace, id, tenant_id, kb_id)."""
    one = _sql("rows")
    parts = [one.format(table_name=sql.Literal(t), table=sql.Identifier(t)) for t in tables]
    return sql.SQL("\nUNION ALL\n").join(parts)


def _array(values: Iterable[Any], kind: str = "text") -> sql.Composed:
    items = sql.SQL(",\n    ").join(map(sql.Literal, values))
    types = {"text": sql.SQL("text[]"), "bigint": sql.SQL("bigint[]")}
    return sql.SQL("ARRAY[\n    {}\n  ]::{}").format(items, types[kind])


def _workspaces(target: DataTarget) -> list[str]:
    if target.workspaces is not None:
        sent: Iterable[str] = target.workspaces
    else:
        query = sql.SQL("SELECT DISTINCT workspace FROM (\n{}\n) AS r").format(
            all_rows(target.tables)
        )
        sent = [str(r[0]) for r in target.conn.execute(query).fetchall()]
    return sorted(w for w in sent if "\x00" not in w)


def _model(target: DataTarget) -> Model:
    if target.model is None:
        raise TypeError("this check compares against a model of the writes; none was given")
    return target.model


_BY_3, _BY_4 = sql.SQL("1, 2, 3"), sql.SQL("1, 2, 3, 4")


def _with_rows(target: DataTarget, *bodies: sql.Composable, order: sql.SQL) -> sql.Composed:
    return sql.SQL("WITH r AS (\n{rows}\n)\n{bodies}\n ORDER BY {order}").format(
        rows=all_rows(target.tables), bodies=sql.SQL("\nUNION ALL\n").join(bodies), order=order
    )


def extraction_query(target: DataTarget) -> sql.Composed:
    accepted = [(w, p) for w in _workspaces(target) if (p := parse(w)) is not None]
    return _sql("extraction").format(
        rows=all_rows(target.tables),
        workspaces=_array(w for w, _ in accepted),
        tenants=_array(p.tenant_id for _, p in accepted),
        kbs=_array(p.kb_id for _, p in accepted),
    )


def bad_input_query(target: DataTarget) -> sql.Composed:
    refused = [w for w in _workspaces(target) if parse(w) is None]
    return _sql("bad_input").format(rows=all_rows(target.tables), refused=_array(refused))


def registered_query(target: DataTarget) -> sql.Composed:
    return _with_rows(target, _sql("unregistered"), order=_BY_4)


def registration_query(target: DataTarget) -> sql.Composed:
    model = _model(target)
    kbs = sorted(model.kbs)
    exact = _sql("registry_exact").format(
        tenants=_array(sorted(model.tenants)),
        kb_tenants=_array(k.tenant_id for k in kbs),
        kb_ids=_array(k.kb_id for k in kbs),
    )
    return _with_rows(target, _sql("unregistered"), exact, order=_BY_4)


def partitions_query(target: DataTarget) -> sql.Composed:
    return _with_rows(target, _sql("shared_partition"), order=_BY_3)


def isolation_query(target: DataTarget) -> sql.Composed:
    model = _model(target)
    per_kb: dict[tuple[str, str], int] = {}
    for p in model.rows.values():
        per_kb[(p.tenant_id, p.kb_id)] = per_kb.get((p.tenant_id, p.kb_id), 0) + 1
    per_tenant = model.tenant_counts()
    keys, tenants = sorted(per_kb), sorted(per_tenant)
    counts = _sql("partition_counts").format(
        kb_tenants=_array(t for t, _ in keys),
        kb_ids=_array(k for _, k in keys),
        kb_rows=_array((per_kb[k] for k in keys), "bigint"),
        tenants=_array(tenants),
        tenant_rows=_array((per_tenant[t] for t in tenants), "bigint"),
    )
    return _with_rows(target, _sql("shared_partition"), counts, order=_BY_3)


def _run_query(build: Any) -> Any:
    def violations(target: DataTarget) -> list[Violation]:
        return [tuple(r) for r in target.conn.execute(build(target)).fetchall()]

    return violations


def _refusals(target: DataTarget) -> list[Violation]:
    return [(r,) for r in target.refusals]


def _no_memberships(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute("SELECT to_regclass('user_tenant_memberships') IS NULL").fetchone()
    return "no user_tenant_memberships table at this version" if row and row[0] else None


def _orphans(target: DataTarget) -> list[Violation]:
    if _no_memberships(target.conn):
        return []
    return [tuple(r) for r in target.conn.execute(_sql("orphan_memberships")).fetchall()]


ROW = ("tbl", "workspace", "id", "tenant_id", "kb_id")
PROBLEM_ROW = ("problem", "tbl", "workspace", "tenant_id", "kb_id")
PARTITION = ("problem", "tenant_id", "kb_id", "detail")

ACCEPTANCE = Check(
    "acceptance", "invariant",
    "every write the contract accepts succeeds (no refused statement or COMMIT)",
    Needs.MODEL, ("refused write",), violations=_refusals,
)
EXTRACTION = Check(
    "extraction", "invariant", "(tenant_id, kb_id) = the oracle's parse of workspace",
    Needs.DATABASE, (*ROW, "oracle_tenant", "oracle_kb"),
    violations=_run_query(extraction_query), query=extraction_query, own_property=True,
)
REGISTRATION = Check(
    "registration", "invariant",
    "every row's tenant and (tenant, kb) are registered, and the registry holds exactly "
    "the tenants and kbs the writes introduced",
    Needs.MODEL, PROBLEM_ROW,
    violations=_run_query(registration_query), query=registration_query, own_property=True,
)
ISOLATION = Check(
    "isolation", "invariant",
    "distinct workspaces never share a (tenant_id, kb_id); a tenant (and kb) filter "
    "returns exactly the rows the oracle assigns to it; every row is in a partition",
    Needs.MODEL, PARTITION,
    violations=_run_query(isolation_query), query=isolation_query, own_property=True,
)
BAD_INPUT = Check(
    "bad_input", "invariant",
    "a workspace without a non-empty tenant and kb is refused (SQLSTATE class 22/23) "
    "and leaves no row",
    Needs.DATABASE, ROW,
    violations=_run_query(bad_input_query), query=bad_input_query, own_property=True,
)
REGISTERED = Check(
    "registered", "invariant", "every row's tenant and (tenant, kb) are in the registry",
    Needs.DATABASE, PROBLEM_ROW, violations=_run_query(registered_query), query=registered_query,
    covered_by="registration",
)
PARTITIONS_DISJOINT = Check(
    "partitions_disjoint", "invariant",
    "distinct workspaces never share a (tenant_id, kb_id); every row is in a partition",
    Needs.DATABASE, PARTITION, violations=_run_query(partitions_query), query=partitions_query,
    covered_by="isolation",
)
MEMBERSHIPS_KNOWN = Check(
    "memberships_known", "invariant", "every membership names a registered tenant",
    Needs.DATABASE, ("user_id", "tenant_id", "role"), violations=_orphans,
    skip_when=_no_memberships,
)
