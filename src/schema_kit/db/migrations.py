"""Discover the versioned migrations in a sql dir and apply them up or down, one transaction each.

Layout: ``<sql_dir>/migrations/<major.minor.patch>_<name>.up.sql`` with a matching
``.down.sql``. The first ``--`` comment line of the up script is its description. Each step
runs with its ``schema_migrations`` row in one transaction, so a failure leaves both as before.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from schema_kit.db.sqlparams import DEFAULT_PARAMS, Params, render
from schema_kit.errors import MigrationError

__all__ = [
    "DEFAULT_PARAMS",
    "Applied",
    "Migration",
    "Migrator",
    "Step",
    "Version",
    "apply_script",
    "discover",
    "render",
]

_FILE = re.compile(r"^(?P<version>\d+\.\d+\.\d+)_(?P<name>[a-z0-9_]+)\.(?P<dir>up|down)\.sql$")
# Serialises concurrent migrators on one database (arbitrary constant: 'schemakt').
_LOCK_KEY = 0x736368656D616B74

_BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version VARCHAR(32) PRIMARY KEY,
    description TEXT NOT NULL,
    checksum CHAR(64),
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    execution_ms INTEGER
)
"""


@dataclass(frozen=True, order=True)
class Version:
    parts: tuple[int, int, int]

    @classmethod
    def parse(cls, text: str) -> Version:
        if not re.fullmatch(r"\d+\.\d+\.\d+", text):
            raise MigrationError(f"version={text!r} must look like MAJOR.MINOR.PATCH, e.g. 3.0.0")
        major, minor, patch = (int(p) for p in text.split("."))
        return cls((major, minor, patch))

    def __str__(self) -> str:
        return ".".join(str(p) for p in self.parts)


@dataclass(frozen=True)
class Migration:
    version: Version
    name: str
    description: str
    up_path: Path
    down_path: Path

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.up_path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Applied:
    version: Version
    description: str
    checksum: str | None
    applied_at: Any


@dataclass(frozen=True)
class Step:
    migration: Migration
    direction: str  # "up" or "down"
    elapsed_s: float = 0.0


def _description(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("--"):
            return line.lstrip("-").strip()
        if line.strip():
            break
    return path.name


def discover(sql_dir: Path) -> list[Migration]:
    """All migrations of ``sql_dir`` in version order, or a MigrationError saying what is wrong."""
    mig_dir = Path(sql_dir) / "migrations"
    if not mig_dir.is_dir():
        raise MigrationError(
            f"sql_dir={str(sql_dir)!r} has no migrations/ directory ({mig_dir} not found); "
            "point --sql-dir / SCHEMA_KIT_SQL_DIR at a directory holding migrations/"
        )
    found: dict[Version, dict[str, Path]] = {}
    names: dict[Version, str] = {}
    for path in sorted(mig_dir.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _FILE.match(path.name)
        if not match:
            raise MigrationError(
                f"migration file {path.name!r} is not named <MAJOR.MINOR.PATCH>_<name>.up.sql "
                f"or .down.sql (in {mig_dir}); rename it"
            )
        version = Version.parse(match["version"])
        if version in names and names[version] != match["name"]:
            raise MigrationError(
                f"version {version} is duplicated in {mig_dir}: {names[version]!r} and "
                f"{match['name']!r}; give one of them a new version"
            )
        names[version] = match["name"]
        found.setdefault(version, {})[match["dir"]] = path
    if not found:
        raise MigrationError(f"no migrations in {mig_dir}; expected files like 1.0.0_init.up.sql")
    migrations = []
    for version in sorted(found):
        pair = found[version]
        for need in ("up", "down"):
            if need not in pair:
                have = next(iter(pair.values())).name
                raise MigrationError(
                    f"migration {version} has no {need} script (found {have} only in "
                    f"{mig_dir}); add {version}_{names[version]}.{need}.sql"
                )
        migrations.append(
            Migration(version, names[version], _description(pair["up"]), pair["up"], pair["down"])
        )
    return migrations


def apply_script(conn: psycopg.Connection[Any], path: Path, params: Params) -> None:
    """Run one SQL file (e.g. ``init-postgres.sql``) in one transaction."""
    body = render(Path(path).read_text(encoding="utf-8"), {**DEFAULT_PARAMS, **params})
    try:
        with conn.transaction():
            conn.execute(body.encode())
    except psycopg.Error as exc:
        raise MigrationError(
            f"{path} failed [{exc.sqlstate or 'no SQLSTATE'}] {_first_line(exc)}; "
            "nothing of it was kept"
        ) from exc


class Migrator:
    """Applies ``migrations`` to the database behind ``conn`` (which must not be autocommit)."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        migrations: Sequence[Migration],
        params: Params,
    ) -> None:
        self.conn = conn
        self.migrations = list(migrations)
        self.params: dict[str, int | str] = {**DEFAULT_PARAMS, **params}
        self._by_version = {m.version: m for m in self.migrations}

    @property
    def head(self) -> Version:
        return self.migrations[-1].version

    def resolve(self, target: str | Version | None) -> Version | None:
        """``None``/"head" → head, "base"/"0" → nothing applied, else a known version."""
        if target is None or target == "head":
            return self.head
        if target in ("base", "0", "0.0.0"):
            return None
        version = target if isinstance(target, Version) else Version.parse(target)
        if version not in self._by_version:
            known = ", ".join(str(v) for v in self._by_version)
            raise MigrationError(f"unknown version {version}; the sql dir has: {known}, or base")
        return version

    def bootstrap(self) -> None:
        with self.conn.transaction():
            self.conn.execute(_BOOTSTRAP)

    def applied(self) -> list[Applied]:
        """What the database records; reading creates nothing (``status`` on a database
        that was never migrated leaves it as it was)."""
        found = self.conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
        rows = [] if found is None or found[0] is None else self.conn.execute(
            "SELECT version, description, checksum, applied_at FROM schema_migrations"
        ).fetchall()
        # Ends the caller's implicit transaction, as each step does: what was migrated is
        # kept whatever the caller does with the connection next.
        self.conn.commit()
        return sorted(
            (Applied(Version.parse(r[0]), r[1], r[2], r[3]) for r in rows),
            key=lambda a: a.version,
        )

    def current(self) -> Version | None:
        applied = self.applied()
        return applied[-1].version if applied else None

    def check(self) -> list[Applied]:
        """Refuse a database whose applied migrations differ from the files."""
        applied = self.applied()
        for row in applied:
            migration = self._by_version.get(row.version)
            if migration is None:
                raise MigrationError(
                    f"the database has version {row.version} applied, which the sql dir does "
                    "not contain; use the sql dir that migrated it"
                )
            if row.checksum is not None and row.checksum.strip() != migration.checksum:
                raise MigrationError(
                    f"applied migration {row.version} was changed after it ran: "
                    f"{migration.up_path.name} has sha256 {migration.checksum[:12]}…, the "
                    f"database recorded {row.checksum[:12]}…; restore the file and put the "
                    "change in a new migration"
                )
        versions = [a.version for a in applied]
        expected = [m.version for m in self.migrations[: len(versions)]]
        if versions != expected:
            raise MigrationError(
                f"applied versions {', '.join(map(str, versions))} are not a prefix of the "
                f"chain {', '.join(str(m.version) for m in self.migrations)}; a version was "
                "inserted before an applied one: give it a version after the head"
            )
        return applied

    def plan(self, target: str | Version | None = None) -> list[tuple[Migration, str]]:
        goal = self.resolve(target)
        current = self.check()
        at = current[-1].version if current else None
        applied = {a.version for a in current}
        if goal is None or (at is not None and goal < at):
            downs = [m for m in reversed(self.migrations) if m.version in applied]
            return [(m, "down") for m in downs if goal is None or m.version > goal]
        return [
            (m, "up") for m in self.migrations if m.version not in applied and m.version <= goal
        ]

    def migrate(
        self,
        target: str | Version | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> list[Step]:
        """Move to ``target`` (head by default); re-running at the target does nothing."""
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            self.bootstrap()
            return [self._run(m, d, progress) for m, d in self.plan(target)]
        finally:
            if not self.conn.closed and not self.conn.broken:
                with self.conn.transaction():
                    self.conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))

    def _run(
        self, migration: Migration, direction: str, progress: Callable[[str], None] | None
    ) -> Step:
        path = migration.up_path if direction == "up" else migration.down_path
        if progress:
            progress(f"{direction} {migration.version} {migration.description}")
        body = render(path.read_text(encoding="utf-8"), self.params)
        start = time.perf_counter()
        try:
            with self.conn.transaction():
                self.conn.execute(body.encode())
                elapsed_ms = int((time.perf_counter() - start) * 1000)
                self._record(migration, direction, elapsed_ms)
        except psycopg.Error as exc:
            state = exc.sqlstate or "no SQLSTATE"
            raise MigrationError(
                f"{direction} {migration.version} failed in {path} [{state}] "
                f"{_first_line(exc)}; nothing of it was kept (schema and schema_migrations are "
                "as before): fix the script and run again"
            ) from exc
        return Step(migration, direction, time.perf_counter() - start)

    def _record(self, migration: Migration, direction: str, elapsed_ms: int) -> None:
        if direction == "up":
            self.conn.execute(
                "INSERT INTO schema_migrations (version, description, checksum, execution_ms) "
                "VALUES (%s, %s, %s, %s)",
                (str(migration.version), migration.description, migration.checksum, elapsed_ms),
            )
        else:
            self.conn.execute(
                "DELETE FROM schema_migrations WHERE version = %s", (str(migration.version),)
            )


def _first_line(exc: psycopg.Error) -> str:
    diag = exc.diag
    text = diag.message_primary or str(exc).strip().splitlines()[0]
    return text + (f" (at: {diag.context.splitlines()[0]})" if diag.context else "")

