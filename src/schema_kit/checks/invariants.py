"""The invariants of SPEC section 4 as set-based SQL checks over every row of every data table.

Each check is one query, composed with the model's expectations as literals (so the replay
script can show it verbatim), that returns the violating rows; ``assert_holds`` turns a
non-empty answer into an ``InvariantError`` with a replay file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from schema_kit.checks.replay import Recorder
from schema_kit.workload.oracle import Model, parse
from schema_kit.workload.tables import DATA_TABLES

__all__ = [
    "Check",
    "InvariantError",
    "all_rows",
    "assert_holds",
    "extraction",
    "isolation",
    "refused_rows",
    "registration",
]


class InvariantError(AssertionError):
    """An invariant does not hold. The message has sections: invariant, expected, found, replay."""

    def __init__(self, check: Check, version: str, rows: Sequence[tuple[Any, ...]], replay: str):
        self.check, self.version, self.rows, self.replay = check, version, list(rows), replay
        shown = "\n".join(f"  {_fmt(r)}" for r in self.rows[:10])
        more = f"\n  … and {len(self.rows) - 10} more" if len(self.rows) > 10 else ""
        super().__init__(
            f"invariant: {check.name} (schema version {version})\n"
            f"expected: {check.contract}\n"
            f"found: {len(self.rows)} violation(s):\n{shown}{more}\n"
            f"replay: {replay}"
        )


def _fmt(row: tuple[Any, ...]) -> str:
    return " | ".join(repr(v) for v in row)


@dataclass(frozen=True)
class Check:
    name: str
    contract: str
    query: sql.Composed

    def violations(self, conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
        return conn.execute(self.query).fetchall()


def all_rows(tables: Sequence[str] = DATA_TABLES) -> sql.Composed:
    """Every row of every data table as (tbl, workspace, id, tenant_id, kb_id).

    ``tables`` defaults to the seed's 9; pass ``schema.tenant_tables(conn)`` to cover every
    table under the contract in that database (3.2.0 and LightRAG add some).
    """
    parts = [
        sql.SQL(
            "SELECT {name}::text AS tbl, workspace::text AS workspace, id::text AS id, "
            "tenant_id::text AS tenant_id, kb_id::text AS kb_id FROM {table}"
        ).format(name=sql.Literal(t), table=sql.Identifier(t))
        for t in tables
    ]
    return sql.SQL(" UNION ALL ").join(parts)


def _array(values: Iterable[str]) -> sql.Composed:
    return sql.SQL("ARRAY[{}]::text[]").format(sql.SQL(", ").join(map(sql.Literal, values)))


def _storable(workspaces: Iterable[str]) -> list[str]:
    return sorted(w for w in workspaces if "\x00" not in w)


def extraction(sent: Iterable[str], tables: Sequence[str] = DATA_TABLES) -> Check:
    """Every row's (tenant_id, kb_id) equals the oracle's parse of its workspace."""
    accepted = [(w, p) for w in _storable(sent) if (p := parse(w)) is not None]
    query = sql.SQL(
        "WITH r AS ({rows}), e(workspace, tenant_id, kb_id) AS "
        "(SELECT * FROM unnest({ws}, {tenants}, {kbs})) "
        "SELECT r.tbl, r.workspace, r.id, r.tenant_id, r.kb_id, "
        "e.tenant_id AS oracle_tenant, e.kb_id AS oracle_kb "
        "FROM r JOIN e ON e.workspace = r.workspace "
        "WHERE (r.tenant_id, r.kb_id) IS DISTINCT FROM (e.tenant_id, e.kb_id) ORDER BY 1, 2, 3"
    ).format(
        rows=all_rows(tables),
        ws=_array(w for w, _ in accepted),
        tenants=_array(p.tenant_id for _, p in accepted),
        kbs=_array(p.kb_id for _, p in accepted),
    )
    return Check("extraction", "(tenant_id, kb_id) = the oracle's parse of workspace", query)


def registration(model: Model, tables: Sequence[str] = DATA_TABLES) -> Check:
    """Every row's tenant and kb are registered; the registry holds nothing else."""
    kbs = sorted(model.kbs)
    query = sql.SQL(
        "WITH r AS ({rows}), et(tenant_id) AS (SELECT unnest({tenants})), "
        "ek(tenant_id, kb_id) AS (SELECT * FROM unnest({kt}, {kk})) "
        "SELECT 'row of an unregistered tenant/kb', r.tbl, r.workspace, r.tenant_id, r.kb_id "
        "FROM r WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.tenant_id = r.tenant_id) "
        "OR NOT EXISTS (SELECT 1 FROM knowledge_bases k "
        "WHERE k.tenant_id = r.tenant_id AND k.kb_id = r.kb_id) "
        "UNION ALL SELECT 'tenant registered that no write introduced', NULL, NULL, "
        "t.tenant_id::text, NULL FROM tenants t "
        "WHERE NOT EXISTS (SELECT 1 FROM et WHERE et.tenant_id = t.tenant_id) "
        "UNION ALL SELECT 'kb registered that no write introduced', NULL, NULL, "
        "k.tenant_id::text, k.kb_id::text FROM knowledge_bases k WHERE NOT EXISTS "
        "(SELECT 1 FROM ek WHERE ek.tenant_id = k.tenant_id AND ek.kb_id = k.kb_id) "
        "UNION ALL SELECT 'tenant missing from the registry', NULL, NULL, et.tenant_id, NULL "
        "FROM et WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.tenant_id = et.tenant_id) "
        "UNION ALL SELECT 'kb missing from the registry', NULL, NULL, ek.tenant_id, ek.kb_id "
        "FROM ek WHERE NOT EXISTS (SELECT 1 FROM knowledge_bases k "
        "WHERE k.tenant_id = ek.tenant_id AND k.kb_id = ek.kb_id) ORDER BY 1, 2, 3, 4"
    ).format(
        rows=all_rows(tables),
        tenants=_array(sorted(model.tenants)),
        kt=_array(k.tenant_id for k in kbs),
        kk=_array(k.kb_id for k in kbs),
    )
    return Check(
        "registration",
        "every row's tenant and (tenant, kb) are registered, and the registry holds exactly "
        "the tenants and kbs the writes introduced",
        query,
    )


def isolation(model: Model, tables: Sequence[str] = DATA_TABLES) -> Check:
    """Partitions are disjoint, cover every row, and hold exactly the oracle's rows."""
    per_kb: dict[tuple[str, str], int] = {}
    for p in model.rows.values():
        per_kb[(p.tenant_id, p.kb_id)] = per_kb.get((p.tenant_id, p.kb_id), 0) + 1
    per_tenant = model.tenant_counts()
    keys = sorted(per_kb)
    query = sql.SQL(
        "WITH r AS ({rows}), "
        "e(lvl, tenant_id, kb_id, n) AS (SELECT 0, * FROM unnest({et}, {ek}, {en}::bigint[]) "
        "UNION ALL SELECT 1, * FROM unnest({tt}, ARRAY[]::text[], {tn}::bigint[])), "
        "a AS (SELECT GROUPING(kb_id) AS lvl, tenant_id, kb_id, count(*) AS n FROM r "
        "GROUP BY GROUPING SETS ((tenant_id), (tenant_id, kb_id))) "
        "SELECT 'workspaces sharing a partition', tenant_id, kb_id, "
        "string_agg(DISTINCT workspace, ' | ') FROM r GROUP BY tenant_id, kb_id "
        "HAVING count(DISTINCT workspace) > 1 "
        "UNION ALL SELECT 'row outside every partition', tenant_id, kb_id, workspace FROM r "
        "WHERE tenant_id IS NULL OR kb_id IS NULL "
        "UNION ALL SELECT 'partition differs from the oracle''s', "
        "coalesce(a.tenant_id, e.tenant_id), coalesce(a.kb_id, e.kb_id), "
        "format('filter returns %s rows, oracle assigns %s', coalesce(a.n, 0), "
        "coalesce(e.n, 0)) FROM a FULL JOIN e ON a.lvl = e.lvl AND a.tenant_id = e.tenant_id "
        "AND coalesce(a.kb_id, '') = coalesce(e.kb_id, '') WHERE a.n IS DISTINCT FROM e.n "
        "ORDER BY 1, 2, 3"
    ).format(
        rows=all_rows(tables),
        et=_array(t for t, _ in keys),
        ek=_array(k for _, k in keys),
        en=sql.SQL("ARRAY[{}]").format(sql.SQL(", ").join(sql.Literal(per_kb[k]) for k in keys)),
        tt=_array(sorted(per_tenant)),
        tn=sql.SQL("ARRAY[{}]").format(
            sql.SQL(", ").join(sql.Literal(per_tenant[t]) for t in sorted(per_tenant))
        ),
    )
    return Check(
        "isolation",
        "distinct workspaces never share a (tenant_id, kb_id); a tenant (and kb) filter "
        "returns exactly the rows the oracle assigns to it; every row is in a partition",
        query,
    )


def refused_rows(sent: Iterable[str], tables: Sequence[str] = DATA_TABLES) -> Check:
    """No row carries a workspace the contract refuses."""
    refused = [w for w in _storable(sent) if parse(w) is None]
    query = sql.SQL(
        "WITH r AS ({rows}) SELECT tbl, workspace, id, tenant_id, kb_id FROM r "
        "WHERE workspace = ANY({refused}) ORDER BY 1, 2, 3"
    ).format(rows=all_rows(tables), refused=_array(refused))
    return Check(
        "bad_input",
        "a workspace without a non-empty tenant and kb is refused (SQLSTATE class 22/23) "
        "and leaves no row",
        query,
    )


def assert_holds(
    conn: psycopg.Connection[Any],
    checks: Iterable[Check],
    recorder: Recorder,
    version: str,
    vector_dim: int,
) -> None:
    """Run each check; on the first with violations write the replay and raise."""
    for check in checks:
        rows = check.violations(conn)
        if rows:
            text = check.query.as_string(conn)
            path = recorder.write(version, vector_dim, check.name, text)
            raise InvariantError(check, version, rows, f"psql -v vector_dim={vector_dim} -f {path}")
