"""has_tenant_access against the role model, over random memberships and public tenants."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from schema_kit.checks.access import RANK, Grant, access_violations, expected_access
from schema_kit.workload.profiles import hypothesis_settings
from tests.schema.seed import seed_and_head

USERS = ["alice", "bob", "carol", "mallory"]
TENANTS = ["acme", "globex", "initech"]
REQUIRED = [*RANK, "superuser", "OWNER", "", None]
# How a tenant's metadata may say "public": only a JSON true counts.
PUBLIC_FLAGS: list[Any] = [True, False, "true", 1, None, "yes", [True]]


def test_role_model_is_fail_closed() -> None:
    assert expected_access("viewer", True, "viewer")
    assert not expected_access(None, True, "owner")
    assert not expected_access("owner", False, "superuser")
    assert not expected_access(None, False, "viewer")
    assert expected_access("admin", False, "editor")
    assert not expected_access("editor", False, "admin")


memberships = st.dictionaries(
    st.tuples(st.sampled_from(USERS), st.sampled_from(TENANTS)), st.sampled_from(list(RANK)),
    max_size=8,
)
flags = st.dictionaries(st.sampled_from(TENANTS), st.sampled_from(PUBLIC_FLAGS))


@pytest.mark.parametrize("db_at", seed_and_head("access", AssertionError), indirect=True)
@settings(hypothesis_settings(),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(members=memberships, public=flags)
@example(members={("alice", "acme"): "viewer"}, public={"globex": True})
def test_has_tenant_access_answers_what_the_role_model_says(
    conn: psycopg.Connection[Any], members: dict[tuple[str, str], str], public: dict[str, Any]
) -> None:
    try:
        for tenant in TENANTS:
            meta = {} if tenant not in public else {"is_public": public[tenant]}
            conn.execute(
                "INSERT INTO tenants (tenant_id, name, metadata) VALUES (%s, %s, %s::jsonb)",
                (tenant, tenant, json.dumps(meta)),
            )
        for (user, tenant), role in members.items():
            conn.execute(
                "INSERT INTO user_tenant_memberships (user_id, tenant_id, role) "
                "VALUES (%s, %s, %s)",
                (user, tenant, role),
            )
        users: list[Any] = [*USERS, None]
        asks = [Grant(u, t, r) for u in users for t in [*TENANTS, "nobody"] for r in REQUIRED]
        is_public = {t: public.get(t) is True for t in TENANTS}
        wrong = access_violations(conn, asks, members, is_public)
        assert wrong == [], f"has_tenant_access disagrees with the role model: {wrong[:10]}"
    finally:
        conn.rollback()
