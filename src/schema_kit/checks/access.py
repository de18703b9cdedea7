"""The role model of ``has_tenant_access`` and its set-based check.

The contract (fail closed): owner > admin > editor > viewer. A member has access when their
role ranks at least the required one. A non-member has viewer access to a public tenant
(``metadata`` ``{"is_public": true}``, a JSON boolean) and nothing else. An unknown or NULL
required role, user or tenant grants nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from schema_kit.checks.registry import ChainTarget, Check, Found, Needs

__all__ = ["ACCESS", "RANK", "Grant", "access_violations", "expected_access"]

RANK = {"owner": 4, "admin": 3, "editor": 2, "viewer": 1}


@dataclass(frozen=True)
class Grant:
    user_id: str | None
    tenant_id: str
    required: str | None


def expected_access(member_role: str | None, public: bool, required: str | None) -> bool:
    if required not in RANK:
        return False
    if member_role is not None:
        return RANK.get(member_role, 0) >= RANK[required]
    return public and required == "viewer"


def access_violations(
    conn: psycopg.Connection[Any],
    asks: Iterable[Grant],
    memberships: Mapping[tuple[str, str], str],
    public: Mapping[str, bool],
) -> list[tuple[str, str, str | None, bool, bool]]:
    """Ask the database every question in one query; return (user, tenant, role, got, want)."""
    asks = list(asks)
    if not asks:
        return []
    query = sql.SQL(
        "SELECT u, t, r, has_tenant_access(u, t, r) FROM unnest({u}::varchar[], {t}::varchar[], "
        "{r}::varchar[]) AS q(u, t, r)"
    ).format(
        u=sql.Literal([a.user_id for a in asks]),
        t=sql.Literal([a.tenant_id for a in asks]),
        r=sql.Literal([a.required for a in asks]),
    )
    wrong = []
    for user, tenant, role, got in conn.execute(query).fetchall():
        want = user is not None and expected_access(
            memberships.get((user, tenant)), public.get(tenant, False), role
        )
        if bool(got) != want:
            wrong.append((user, tenant, role, got, want))
    return wrong


def _detect(target: ChainTarget) -> Found:
    """Two members and a stranger asking for every role (and an unknown one) of a private
    and a public tenant."""
    members = {("alice", "acme"): "viewer", ("bob", "acme"): "owner"}
    public = {"acme": False, "globex": True}
    with target.templates.database(target.version) as db, db.connect() as conn:
        if (why := _no_helper(conn)) is not None:
            return Found(skipped=why)
        try:
            conn.execute(
                "INSERT INTO tenants (tenant_id, name, metadata) VALUES "
                "('acme', 'acme', '{}'), ('globex', 'globex', '{\"is_public\": true}')"
            )
            for (user, tenant), role in members.items():
                conn.execute(
                    "INSERT INTO user_tenant_memberships (user_id, tenant_id, role) "
                    "VALUES (%s, %s, %s)", (user, tenant, role),
                )
            asks = [Grant(u, t, r) for u in ("alice", "bob", "eve") for t in public
                    for r in (*RANK, "superuser")]
            return Found(rows=list(access_violations(conn, asks, members, public)), examples=1)
        finally:
            conn.rollback()


def _no_helper(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute(
        "SELECT to_regprocedure('has_tenant_access(varchar, varchar, varchar)') IS NULL, "
        "to_regclass('user_tenant_memberships') IS NULL").fetchone()
    conn.rollback()
    if row and row[0]:
        return "no has_tenant_access(varchar, varchar, varchar) in this chain"
    if row and row[1]:
        return "no user_tenant_memberships table in this chain"
    return None


ACCESS = Check(
    "access", "access",
    "has_tenant_access grants exactly what the role model says: owner > admin > editor > "
    "viewer, a public tenant grants viewer to non-members, anything unknown grants nothing",
    Needs.CHAIN, ("user_id", "tenant_id", "required_role", "granted", "expected"),
    detect=_detect,
)
