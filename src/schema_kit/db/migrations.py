"""Discover the versioned migrations in a sql dir and apply them up or down, one transaction each.

Layout: ``<sql_dir>/migrations/<major.minor.patch>_<name>.up.sql`` with a matching
``.down.sql``. The first ``--`` comment line of the up script with a letter in it is its
description (``-- ====`` decoration is skipped). Each step runs with its bookkeeping row (the
harness's own table, ``schema_kit_migrations`` by default) in one transaction, statement by
statement as ``psql -1 -f`` would, so a failure leaves both as before and names the file and
line of the statement that failed. A script with psql meta-commands (``\\echo``, ``\\set`` …)
is run by the real psql, in one transaction with its bookkeeping row.
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
from psycopg import errors, sql

from schema_kit.config import DEFAULT_MIGRATIONS_TABLE
from schema_kit.db import online
from schema_kit.db.own_transactions import (
    OwnTransactionFailed,
    run_as_psql,
    transaction_control,
    transaction_lines,
)
from schema_kit.db.psql import PsqlFailed, needs_psql, refuse_unsafe, run_psql, sql_only
from schema_kit.db.sqlparams import DEFAULT_PARAMS, Params, render
from schema_kit.db.sqlscript import Script, Statement
from schema_kit.errors import MigrationError

__all__ = [
    "DEFAULT_PARAMS",
    "Applied",
    "Migration",
    "Migrator",
    "Step",
    "Version",
    "apply_script",
    "chain_bookkeeping",
    "discover",
    "render",
]

_FILE = re.compile(
    r"^(?P<version>\d+\.\d+\.\d+)_(?P<name>[a-z0-9_]+)\.(?P<dir>up|down|online)\.sql$")
# Serialises concurrent migrators on one database (arbitrary constant: 'schemakt').
_LOCK_KEY = 0x736368656D616B74

_BOOTSTRAP = sql.SQL("""
CREATE TABLE IF NOT EXISTS {table} (
    version VARCHAR(32) PRIMARY KEY,
    description TEXT NOT NULL,
    checksum CHAR(64),
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    execution_ms INTEGER
)
""")


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
    # The same change made while writers go on (``Migrator(online=True)``): run instead of
    # the up script, recorded with its checksum, for it must reach the same schema.
    online_path: Path | None = None

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
    attempts: int = 1  # more: refused for a lock timeout, run again (``lock_retries``)


# Decoration around a description: ``-- ==== Title ====``, ``-- ---- Title``, ``-- ** x **``.
_DECORATION = "-=*#~+ \t"
def _description(path: Path) -> str:
    """The first comment line with a letter in it, of the script's leading comments."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("--"):
            text = line.lstrip("-").strip(_DECORATION)
            if any(c.isalpha() for c in text):
                return text
        elif line.strip():
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
    found: dict[Version, dict[str, dict[str, Path]]] = {}
    for path in sorted(mig_dir.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _FILE.match(path.name)
        if not match:
            raise MigrationError(
                f"migration file {path.name!r} is not named <MAJOR.MINOR.PATCH>_<name>.up.sql "
                f"or .down.sql (or .online.sql) (in {mig_dir}); rename it"
            )
        version = Version.parse(match["version"])
        found.setdefault(version, {}).setdefault(match["name"], {})[match["dir"]] = path
    if not found:
        raise MigrationError(f"no migrations in {mig_dir}; expected files like 1.0.0_init.up.sql")
    migrations = []
    for version in sorted(found):
        name, pair = _pair(version, found[version], mig_dir)
        for path in pair.values():
            refuse_unsafe(path)
        migrations.append(Migration(version, name, _description(pair["up"]), pair["up"],
                                    pair["down"], pair.get("online")))
    return migrations


def _pair(
    version: Version, named: dict[str, dict[str, Path]], mig_dir: Path
) -> tuple[str, dict[str, Path]]:
    """The one name of ``version`` with its up and down script, or why there is none."""
    if len(named) == 2:
        (a, first), (b, second) = sorted(named.items())
        if set(first) | set(second) == {"up", "down"} and not set(first) & set(second):
            up, down = (a, b) if "up" in first else (b, a)
            raise MigrationError(
                f"migration {version} has up '{version}_{up}' but down '{version}_{down}' "
                f"(in {mig_dir}): rename one so both share the name"
            )
    if len(named) > 1:
        names = " and ".join(repr(n) for n in sorted(named))
        raise MigrationError(
            f"version {version} is duplicated in {mig_dir}: {names}; give one of them a new "
            "version"
        )
    ((name, pair),) = named.items()
    for need in ("up", "down"):
        if need not in pair:
            have = next(iter(pair.values())).name
            raise MigrationError(
                f"migration {version} has no {need} script (found {have} only in "
                f"{mig_dir}); add {version}_{name}.{need}.sql"
            )
    return name, pair


def apply_script(conn: psycopg.Connection[Any], path: Path, params: Params) -> None:
    """Run one SQL file (e.g. ``init-postgres.sql``) in one transaction, or, when it has
    BEGIN/COMMIT of its own, as psql runs it."""
    refuse_unsafe(Path(path))
    if needs_psql(Path(path)):
        conn.commit()
        _with_psql(conn, Path(path), {**DEFAULT_PARAMS, **params}, f"{path}")
        return
    script = Script.load(path, {**DEFAULT_PARAMS, **params})
    if transaction_control(script):
        conn.commit()
        _as_psql(conn, script, f"{path}")
        return
    try:
        with conn.transaction():
            _execute(conn, script)
    except _Failed as failed:
        exc = failed.error
        raise MigrationError(
            f"{failed.where} failed [{exc.sqlstate or 'no SQLSTATE'}] {_first_line(exc)}; "
            "nothing of it was kept"
        ) from exc


class _Failed(Exception):
    """A statement of a script failed: where (``path:line``) and the server's error."""

    def __init__(self, where: str, error: psycopg.Error) -> None:
        super().__init__(where)
        self.where, self.error = where, error


_INLINE_LINE = re.compile(r"PL/pgSQL function inline_code_block line (\d+)")


def _execute(conn: psycopg.Connection[Any], script: Script) -> None:
    """Each statement of ``script`` in turn; a failure is a _Failed naming its line."""
    for statement in script.statements:
        text = script.text(statement)
        try:
            conn.execute(text.encode())
        except psycopg.Error as exc:
            raise _Failed(_where(script, statement, text, exc), exc) from exc


def _where(script: Script, statement: Statement, text: str, exc: psycopg.Error) -> str:
    """``path:line`` of the failure: the server's position in the statement, or the line in a
    DO block's body that PL/pgSQL names, or else the statement's first line."""
    position = exc.diag.statement_position
    routine_line = None
    if not position and re.match(r"(?i)do\b", text):
        lines = _INLINE_LINE.findall(exc.diag.context or "")
        routine_line = int(lines[-1]) if lines else None  # the outermost: the DO itself
    return script.where(statement, int(position) if position else None, routine_line)


def _with_psql(conn: psycopg.Connection[Any], path: Path, params: Params, what: str,
               after: str | None = None) -> None:
    """A script with psql meta-commands, run by psql: in one transaction (with ``after``, its
    bookkeeping) unless it has BEGIN/COMMIT of its own, and then as psql runs it."""
    own = transaction_lines(sql_only(path.read_text(encoding="utf-8")))
    try:
        if own:
            run_psql(conn, path, params, single_transaction=False)
            if after:
                with conn.transaction():
                    conn.execute(after.encode())
        else:
            run_psql(conn, path, params, single_transaction=True, after=after)
    except PsqlFailed as failed:
        kept = (f"{path} runs its own transactions (BEGIN/COMMIT at line "
                f"{', '.join(map(str, own))}), so what psql committed before the failure "
                "remains; undo that by hand (or restore the database), then run again"
                if own else "psql ran it in one transaction: nothing of it was kept; fix the "
                "script and run again")
        raise MigrationError(
            f"{what} failed at {failed.where} [{failed.sqlstate}] {failed.message} "
            f"(run by psql: the script has psql meta-commands); {kept}"
        ) from None


def _run_one(conn: psycopg.Connection[Any], text: str) -> None:
    conn.execute(text.encode())


def _as_psql(conn: psycopg.Connection[Any], script: Script, what: str,
             execute: Callable[[psycopg.Connection[Any], str], None] = _run_one) -> None:
    """A script with its own transactions (or marked no-transaction): run as psql runs it; a
    failure, or a block it leaves open, is a MigrationError that says what was committed and
    remains, and what INVALID index a failed CREATE INDEX CONCURRENTLY left was dropped."""
    control = ", ".join(map(str, transaction_control(script)))
    honest = (f"{script.path} runs its own transactions (BEGIN/COMMIT at line {control}), "
              "so it is not all-or-nothing") if control else (
              f"{script.path} is marked no-transaction, so it is not all-or-nothing")
    invalid = online.invalid_indexes(conn)
    try:
        ran = run_as_psql(conn, script, execute)
    except OwnTransactionFailed as failed:
        exc = failed.error
        where = _where(script, failed.statement, script.text(failed.statement), exc)
        left = online.invalid_indexes(conn) - invalid
        online.drop_invalid(conn, left)
        dropped = (f"; dropped the INVALID index {', '.join(sorted(left))} it left" if left
                   else "")
        raise MigrationError(
            f"{what} failed at {where} [{exc.sqlstate or 'no SQLSTATE'}] {_first_line(exc)}"
            f"{dropped}; {honest}: {failed.ran.describe()}; undo that by hand (or restore the "
            "database), then run again"
        ) from exc
    if ran.unclosed is not None:
        raise MigrationError(
            f"{what}: {script.path}:{ran.unclosed} opens a transaction the script never "
            f"commits, so psql would roll it back at the end; {honest}: {ran.describe()}; "
            "add the COMMIT"
        )


class Migrator:
    """Applies ``migrations`` to the database behind ``conn`` (which must not be autocommit)."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        migrations: Sequence[Migration],
        params: Params,
        table: str = DEFAULT_MIGRATIONS_TABLE,
        lock_timeout_ms: int | None = None,
        lock_retries: int = 0,
        online: bool = False,
    ) -> None:
        """``lock_timeout_ms``: a transactional migration waits at most that long for each
        lock (``SET LOCAL lock_timeout``), so writers never queue long behind a migration
        that waits; refused (55P03), it is run again up to ``lock_retries`` times.
        ``online``: a migration with an ``.online.sql`` form is applied by that form."""
        self.conn = conn
        self.online = online
        self.lock_timeout_ms, self.lock_retries = lock_timeout_ms, lock_retries
        self.table = table  # [schema.]name of the bookkeeping
        self._table = sql.Identifier(*table.split("."))
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
            if "." in self.table:
                schema = sql.Identifier(self.table.split(".")[0])
                self.conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
            self.conn.execute(_BOOTSTRAP.format(table=self._table))

    def tracked(self) -> bool:
        """Whether the bookkeeping table exists here (reading creates nothing)."""
        found = self.conn.execute("SELECT to_regclass(%s) IS NOT NULL", (self.table,)).fetchone()
        self.conn.commit()
        return bool(found and found[0])

    def untracked_tables(self) -> list[str]:
        """The tables of a database that has no bookkeeping: built by something else (psql,
        another migration tool) when there are any."""
        if self.tracked():
            return []
        rows = self.conn.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relkind IN ('r', 'p') "
            "AND c.relnamespace = current_schema()::regnamespace ORDER BY 1"
        ).fetchall()
        self.conn.commit()
        return [str(r[0]) for r in rows]

    def baseline(self, version: str) -> list[Migration]:
        """Adopt a database built without schema_kit: record every migration up to
        ``version`` as applied (with today's checksums) without running it."""
        goal = self.resolve(version)
        if self.tracked() and self.applied():
            raise MigrationError(
                f"--baseline {version}: {self.table} already records migrations here; "
                "baseline adopts only a database schema_kit has never migrated"
            )
        adopted = [m for m in self.migrations if goal is not None and m.version <= goal]
        self.bootstrap()
        with self.conn.transaction():
            for migration in adopted:
                self.conn.execute(
                    sql.SQL("INSERT INTO {} (version, description, checksum) "
                            "VALUES (%s, %s, %s)").format(self._table),
                    (str(migration.version), f"{migration.description} (baseline)",
                     migration.checksum),
                )
        return adopted

    def applied(self) -> list[Applied]:
        """What the database records; reading creates nothing (``status`` on a database
        that was never migrated leaves it as it was)."""
        if not self.tracked():
            return []
        try:
            rows = self.conn.execute(
                sql.SQL("SELECT version, description, checksum, applied_at FROM {}").format(
                    self._table)
            ).fetchall()
        except (errors.UndefinedColumn, errors.InvalidTextRepresentation) as exc:
            self.conn.rollback()
            raise MigrationError(
                f"table {self.table} exists but is not schema_kit's bookkeeping "
                f"({exc.diag.message_primary}); point the migrations_table option at "
                "another name"
            ) from None
        # Ends the caller's implicit transaction, as each step does: what was migrated is
        # kept whatever the caller does with the connection next.
        self.conn.commit()
        return sorted(
            (Applied(Version.parse(str(r[0])), r[1], r[2], r[3]) for r in rows),
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
        if direction == "up" and self.online and migration.online_path is not None:
            path = migration.online_path
        if progress:
            progress(f"{direction} {migration.version} {migration.description}")
        start = time.perf_counter()
        if needs_psql(path):
            if progress:
                progress(f"  {path.name} has psql meta-commands: run by psql")
            self.conn.commit()
            _with_psql(self.conn, path, self.params, f"{direction} {migration.version}",
                       self._record_sql(migration, direction).as_string(self.conn))
            return Step(migration, direction, time.perf_counter() - start)
        script = Script.load(path, self.params)
        if transaction_control(script) or online.no_transaction(script):
            if progress:
                progress(f"  {path.name} has BEGIN/COMMIT of its own or is marked "
                         "no-transaction: run as psql runs it, not all-or-nothing")
            with online.lock_timeout(self.conn, self.lock_timeout_ms):
                _as_psql(self.conn, script, f"{direction} {migration.version}",
                         online.retrying(self.lock_retries))
            with self.conn.transaction():
                self._record(migration, direction, int((time.perf_counter() - start) * 1000))
            return Step(migration, direction, time.perf_counter() - start)
        attempts = 1
        try:
            while True:
                try:
                    self._transactional(script, migration, direction, start)
                    break
                except _Failed as failed:
                    # A lock not granted within lock_timeout: nothing was kept, and waiting
                    # a little lets the writers queued behind the migration drain first.
                    if failed.error.sqlstate != "55P03" or attempts > self.lock_retries:
                        raise
                    time.sleep(min(1.0, 0.05 * 2 ** (attempts - 1)))
                    attempts += 1
        except _Failed as failed:
            exc = failed.error
            state = exc.sqlstate or "no SQLSTATE"
            raise MigrationError(
                f"{direction} {migration.version} failed at {failed.where} [{state}] "
                f"{_first_line(exc)}; nothing of it was kept (schema and bookkeeping are "
                "as before): fix the script and run again"
            ) from exc
        except psycopg.Error as exc:  # the bookkeeping, or the COMMIT (a deferred constraint)
            state = exc.sqlstate or "no SQLSTATE"
            raise MigrationError(
                f"{direction} {migration.version} failed after the last statement of {path} "
                f"(at its bookkeeping row or the COMMIT, which checks deferred "
                f"constraints) [{state}] "
                f"{_first_line(exc)}; nothing of it was kept (schema and bookkeeping are "
                "as before): fix the script and run again"
            ) from exc
        return Step(migration, direction, time.perf_counter() - start, attempts)

    def _transactional(self, script: Script, migration: Migration, direction: str,
                       start: float) -> None:
        """One attempt at a script in one transaction with its bookkeeping row."""
        with self.conn.transaction():
            if self.lock_timeout_ms is not None:
                self.conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(
                    sql.Literal(f"{self.lock_timeout_ms}ms")))
            _execute(self.conn, script)
            if self.lock_timeout_ms is not None:  # the bookkeeping is the harness's own
                self.conn.execute("SET LOCAL lock_timeout = 0")
            self._record(migration, direction, int((time.perf_counter() - start) * 1000))

    def _record_sql(self, migration: Migration, direction: str,
                    elapsed_ms: int | None = None) -> sql.Composed:
        """The bookkeeping statement of one step, values as literals (psql runs it too)."""
        version = sql.Literal(str(migration.version))
        if direction == "up":
            return sql.SQL(
                "INSERT INTO {} (version, description, checksum, execution_ms) "
                "VALUES ({}, {}, {}, {})"
            ).format(self._table, version, sql.Literal(migration.description),
                     sql.Literal(migration.checksum), sql.Literal(elapsed_ms))
        return sql.SQL("DELETE FROM {} WHERE version = {}").format(self._table, version)

    def _record(self, migration: Migration, direction: str, elapsed_ms: int) -> None:
        self.conn.execute(self._record_sql(migration, direction, elapsed_ms))


def chain_bookkeeping(conn: psycopg.Connection[Any]) -> list[str] | None:
    """The versions a chain's own ``schema_migrations`` lists (the table many teams' scripts
    keep themselves), or None when there is no such table with a ``version`` column."""
    found = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not found or not found[0]:
        conn.commit()
        return None
    try:
        rows = conn.execute("SELECT version::text FROM schema_migrations ORDER BY 1").fetchall()
    except errors.UndefinedColumn:
        conn.rollback()
        return None
    conn.commit()
    return [str(r[0]) for r in rows]


def _first_line(exc: psycopg.Error) -> str:
    diag = exc.diag
    text = diag.message_primary or str(exc).strip().splitlines()[0]
    return text + (f" (at: {diag.context.splitlines()[0]})" if diag.context else "")

