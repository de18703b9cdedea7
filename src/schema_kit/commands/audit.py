"""``schema-kit audit``: a read-only check of a live database against the sql dir and the oracle.

Everything runs in one READ ONLY transaction that is rolled back; the expected catalog comes
from a reference server the harness provisions (never from the audited one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from schema_kit.checks import REGISTRY, Registry, violations_in
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
    theirs = f"a fresh install of {result.version}"
    for line in Snapshot({**actual.objects, **ours}).diff(expected, "the database", theirs):
        result.findings.append(Finding("catalog drift", line))


def _data(result: AuditResult, conn: psycopg.Connection[Any], registry: Registry) -> None:
    """Every model-free check of the registry over every stored row."""
    tables = tenant_tables(conn)
    if tables:
        result.notes.append(f"{len(tables)} tables under the tenant contract: {', '.join(tables)}")
    for check in registry.model_free():
        found = violations_in(conn, check)
        if found.skipped:
            result.notes.append(f"{check.name}: skipped: {found.skipped}")
        for row in found.rows:
            result.findings.append(Finding(check.name, " | ".join(map(repr, row))))


def run_audit(
    dsn: str, sql_dir: Any, reference: Templates, say: Callable[[str], None] = lambda _: None,
    registry: Registry = REGISTRY,
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
            _data(result, conn, registry)
        finally:
            conn.rollback()
    if result.version is not None and result.version in {str(m.version) for m in chain}:
        say(f"catalog drift against a fresh {result.version}")
        _drift(result, actual, reference)
    return result
