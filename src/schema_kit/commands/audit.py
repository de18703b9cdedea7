"""``schema-kit audit``: a read-only check of a live database against the sql dir and the oracle.

Everything runs in one READ ONLY transaction that is rolled back; the expected catalog comes
from a reference server the harness provisions (never from the audited one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from schema_kit.checks.invariants import all_rows, extraction, refused_rows
from schema_kit.connect import connect, redact
from schema_kit.db.databases import Templates
from schema_kit.db.migrations import Migration, Version, discover
from schema_kit.inspect import Snapshot, take_snapshot
from schema_kit.workload.tables import tenant_tables

__all__ = ["AuditResult", "Finding", "run_audit"]


@dataclass(frozen=True)
class Finding:
    kind: str
    detail: str


@dataclass
class AuditResult:
    target: str
    version: str | None
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings


def _applied(conn: psycopg.Connection[Any]) -> list[tuple[str, str | None]] | None:
    row = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return None
    rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
    return sorted(((str(v), c) for v, c in rows), key=lambda r: Version.parse(r[0]))


def _versions(result: AuditResult, conn: psycopg.Connection[Any], chain: list[Migration]) -> None:
    applied = _applied(conn)
    if applied is None:
        result.findings.append(Finding("version", "no schema_migrations table: not migrated"))
        return
    by_version = {str(m.version): m for m in chain}
    for version, checksum in applied:
        migration = by_version.get(version)
        if migration is None:
            result.findings.append(Finding("version", f"{version} is applied but not in sql dir"))
        elif checksum is None:
            result.notes.append(f"{version}: installed by an init script (no checksum)")
        elif checksum.strip() != migration.checksum:
            result.findings.append(Finding(
                "checksum", f"{version}: {migration.up_path.name} changed after it was applied"
            ))
    result.version = applied[-1][0] if applied else None
    pending = [str(m.version) for m in chain if str(m.version) not in dict(applied)]
    if pending:
        result.notes.append(f"pending migrations: {', '.join(pending)}")


def _drift(result: AuditResult, actual: Snapshot, reference: Templates) -> None:
    with reference.database(result.version) as db, db.connect() as conn:
        expected = take_snapshot(conn)
    # Extension versions differ between servers without any drift of the schema itself.
    strip = {"extensions": {k: {**v, "version": None} for k, v in expected["extensions"].items()}}
    expected = Snapshot({**expected.objects, **strip})
    ours = {"extensions": {k: {**v, "version": None} for k, v in actual["extensions"].items()}}
    for line in Snapshot({**actual.objects, **ours}).diff(expected):
        result.findings.append(Finding("catalog drift", line))


_SHARED = sql.SQL(
    "WITH r AS ({rows}) SELECT tenant_id, kb_id, string_agg(DISTINCT workspace, ' | ') FROM r "
    "GROUP BY tenant_id, kb_id HAVING count(DISTINCT workspace) > 1"
)
_UNREGISTERED = sql.SQL(
    "WITH r AS ({rows}) SELECT DISTINCT tbl, tenant_id, kb_id FROM r "
    "WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.tenant_id = r.tenant_id) "
    "OR NOT EXISTS (SELECT 1 FROM knowledge_bases k "
    "WHERE k.tenant_id = r.tenant_id AND k.kb_id = r.kb_id) ORDER BY 1, 2, 3"
)
_ORPHANS = (
    "SELECT m.user_id, m.tenant_id, m.role FROM user_tenant_memberships m "
    "WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.tenant_id = m.tenant_id)"
)


def _data(result: AuditResult, conn: psycopg.Connection[Any], snapshot: Snapshot) -> None:
    tables = tenant_tables(conn)
    if not tables:
        result.notes.append("no tenant columns at this version: data checks skipped")
        return
    result.notes.append(f"{len(tables)} tables under the tenant contract: {', '.join(tables)}")
    rows = all_rows(tables)
    workspaces = [r[0] for r in conn.execute(
        sql.SQL("SELECT DISTINCT workspace FROM ({}) r").format(rows)).fetchall()]
    for kind, check in (("extraction", extraction(workspaces, tables)),
                        ("refused workspace stored", refused_rows(workspaces, tables))):
        for row in check.violations(conn):
            result.findings.append(Finding(kind, " | ".join(map(repr, row))))
    for kind, query in (("unregistered tenant/kb", _UNREGISTERED), ("shared partition", _SHARED)):
        for row in conn.execute(query.format(rows=rows)).fetchall():
            result.findings.append(Finding(kind, " | ".join(map(repr, row))))
    if "public.user_tenant_memberships" in snapshot["tables"]:
        for row in conn.execute(_ORPHANS).fetchall():
            result.findings.append(Finding("orphan membership", " | ".join(map(repr, row))))


def run_audit(
    dsn: str, sql_dir: Any, reference: Templates, say: Callable[[str], None] = lambda _: None
) -> AuditResult:
    """Audit the database behind ``dsn``; nothing in it is written."""
    chain = discover(sql_dir)
    result = AuditResult(redact(dsn), None)
    with connect(dsn) as conn:
        conn.read_only = True
        try:
            say("schema version and checksums")
            _versions(result, conn, chain)
            say("catalog")
            actual = take_snapshot(conn)
            say("rows against the oracle")
            _data(result, conn, actual)
        finally:
            conn.rollback()
    if result.version is not None and result.version in {str(m.version) for m in chain}:
        say(f"catalog drift against a fresh {result.version}")
        _drift(result, actual, reference)
    return result
