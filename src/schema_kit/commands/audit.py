"""``schema-kit audit``: a read-only check of a live database against the sql dir and the oracle.

The session is READ ONLY, so nothing is written; the expected catalog comes from a reference
server the harness provisions (never from the audited one). A database built without schema_kit
(no bookkeeping) is audited too: its version is inferred from its catalog, or "unknown".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from schema_kit.checks import REGISTRY, Registry, violations_in
from schema_kit.connect import connect, redact
from schema_kit.db.databases import Templates
from schema_kit.db.migrations import Migration, Migrator, chain_bookkeeping, discover
from schema_kit.errors import MigrationError
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


def _versions(result: AuditResult, migrator: Migrator) -> bool:
    """Version and checksums from the harness's bookkeeping; False when there is none."""
    try:
        tracked = migrator.tracked()
        applied = migrator.applied()
    except MigrationError as exc:
        result.findings.append(Finding("version", str(exc)))
        return False
    if not tracked:
        result.notes.append(
            f"no schema_kit bookkeeping ({migrator.table}): built without schema_kit (psql, "
            "another tool); the version is inferred from the catalog"
        )
        return False
    by_version = {m.version: m for m in migrator.migrations}
    for row in applied:
        migration = by_version.get(row.version)
        if migration is None:
            result.findings.append(
                Finding("version", f"{row.version} is applied but not in sql dir"))
        elif row.checksum is None:
            result.notes.append(f"{row.version}: installed by an init script (no checksum)")
        elif row.checksum.strip() != migration.checksum:
            result.findings.append(Finding(
                "checksum", f"{row.version}: {migration.up_path.name} changed after it was applied"
            ))
    result.version = str(applied[-1].version) if applied else None
    done = {row.version for row in applied}
    pending = [str(m.version) for m in migrator.migrations if m.version not in done]
    if pending:
        result.notes.append(f"pending migrations: {', '.join(pending)}")
    return True


def _comparable(snapshot: Snapshot, bookkeeping: str) -> Snapshot:
    """Without the harness's bookkeeping (not the schema under test) and extension versions
    (they differ between servers without any drift of the schema itself)."""
    plain = snapshot.without_table(_qualified(bookkeeping))
    extensions = {k: {**v, "version": None} for k, v in plain["extensions"].items()}
    return Snapshot({**plain.objects, "extensions": extensions})


def _qualified(table: str) -> str:
    return table if "." in table else f"public.{table}"


def _catalog_at(reference: Templates, version: str | None) -> Snapshot:
    with reference.database(version) as db, db.connect() as conn:
        return _comparable(take_snapshot(conn), reference.table)


def _infer(result: AuditResult, actual: Snapshot, reference: Templates,
           chain: list[Migration], say: Callable[[str], None]) -> None:
    """The version whose fresh catalog equals the database's, newest first, or "unknown"."""
    ours = _comparable(actual, reference.table)
    if _catalog_at(reference, None) == ours:
        result.findings.append(Finding("version", "not migrated: the database holds none of "
                                       "the chain's objects"))
        return
    for migration in reversed(chain):
        say(f"comparing the catalog with a fresh {migration.version}")
        if _catalog_at(reference, str(migration.version)) == ours:
            result.version = str(migration.version)
            result.notes.append(f"version {migration.version} inferred: the catalog equals a "
                                f"fresh install of it (adopt it with `schema-kit migrate "
                                f"--baseline {migration.version}`)")
            return
    result.findings.append(Finding(
        "version", "unknown: the catalog equals no version of the sql dir's chain (catalog "
        "drift not checked; the data checks still ran)"))


def _drift(result: AuditResult, actual: Snapshot, reference: Templates) -> None:
    expected = _catalog_at(reference, result.version)
    theirs = f"a fresh install of {result.version}"
    for line in _comparable(actual, reference.table).diff(expected, "the database", theirs):
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
            tracked = _versions(result, Migrator(conn, chain, {}, reference.table))
            own = chain_bookkeeping(conn)
            if own is not None:
                result.notes.append("the chain's own schema_migrations lists: "
                                    + (", ".join(own) or "no versions"))
            say("catalog")
            actual = take_snapshot(conn)
            say("rows against the oracle")
            _data(result, conn, registry)
        finally:
            conn.rollback()
    if not tracked and not any(f.kind == "version" for f in result.findings):
        _infer(result, actual, reference, chain, say)
    elif result.version is not None and result.version in {str(m.version) for m in chain}:
        say(f"catalog drift against a fresh {result.version}")
        _drift(result, actual, reference)
    return result
