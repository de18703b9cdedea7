"""Catalog snapshots: comparable with ==, JSON round trip, a diff that names each object."""

from __future__ import annotations

from collections.abc import Callable

from schema_kit.db.databases import Database
from schema_kit.inspect import KINDS, Snapshot, take_snapshot

Factory = Callable[..., Database]


def test_snapshot_covers_every_kind_and_skips_extension_members(
    schema_kit_db_factory: Factory,
) -> None:
    with schema_kit_db_factory("3.0.0").connect() as conn:
        snap = take_snapshot(conn)
    assert set(snap.objects) == set(KINDS)
    assert "vector" in snap["extensions"]
    # pgvector's own functions belong to the extension, not to the schema under test.
    assert not any(name.startswith("public.vector_") for name in snap["functions"])
    assert "public.sync_tenant_from_workspace()" in snap["functions"]
    column = snap["columns"]["public.lightrag_doc_full.tenant_id"]
    assert column["generated"] is not None and "split_part" in column["generated"]
    assert Snapshot.from_json(snap.to_json()) == snap


def test_diff_names_each_changed_object(schema_kit_db_factory: Factory) -> None:
    with schema_kit_db_factory("3.0.0").connect() as conn:
        before = take_snapshot(conn)
        conn.execute("DROP INDEX idx_lightrag_doc_full_tenant")
        conn.execute("ALTER TABLE tenants ALTER COLUMN name SET DEFAULT 'x'")
        conn.execute(
            "ALTER TABLE lightrag_doc_full DISABLE TRIGGER trg_lightrag_doc_full_sync_tenant"
        )
        # Storage parameters are schema too (an online migration sets and resets them).
        conn.execute("ALTER TABLE lightrag_llm_cache SET (autovacuum_enabled = false)")
        after = take_snapshot(conn)
        conn.rollback()
    assert before != after
    lines = before.diff(after)
    assert "- index public.idx_lightrag_doc_full_tenant: only in the left snapshot" in lines
    labelled = before.diff(after, "before.json", "host=db dbname=app")
    assert "- index public.idx_lightrag_doc_full_tenant: only in before.json" in labelled
    assert [d.line() for d in before.differences(after)] == lines
    assert any(line.startswith("~ column public.tenants.name: default: None -> ") for line in lines)
    trigger = "~ trigger public.lightrag_doc_full.trg_lightrag_doc_full_sync_tenant:"
    assert any(line.startswith(trigger + " enabled: 'O' -> 'D'") for line in lines)
    assert any(line.startswith("~ table public.lightrag_llm_cache: options: None -> ")
               for line in lines)
    assert len(lines) == 4
