"""Migration safety, measured while each up migration runs on a database that holds data.

On a fresh scratch database, before each up migration, rows go into the data tables that
exist at that point, so rewrites and index builds have something to touch. The migration
then runs while a second connection polls ``pg_locks`` for the migrating backend. A changed
``pg_class.relfilenode`` means a table was rewritten; an index that appears on a table that
held rows was built without CONCURRENTLY, which the migrator's one transaction per file
rules out. ACCESS EXCLUSIVE on a data table, a rewrite of one and such a build on one are
flagged: in production each blocks LightRAG's readers or writers for as long as it lasts.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import psycopg
from psycopg import sql

from schema_kit.connect import connect
from schema_kit.databases import Templates
from schema_kit.errors import SchemaKitError
from schema_kit.harness import Harness
from schema_kit.migrations import Migration, Migrator, discover
from schema_kit.schema import DATA_TABLES

__all__ = ["IndexBuild", "LockHeld", "MigrationSafety", "Rewrite", "measure_chain", "to_markdown"]

# Weakest to strongest, as the lock conflict table orders them.
_MODES = ("AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock",
          "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock")
_RANK = {m: i for i, m in enumerate(_MODES)}
# pg_locks says AccessExclusiveLock; reviewers know the LOCK TABLE spelling.
_SQL_MODE = {m: " ".join(re.findall("[A-Z][a-z]+", m[:-4])).upper() for m in _MODES}
_RELS = (
    "SELECT c.oid::bigint, c.relname, c.relkind::text, c.relfilenode::bigint, "
    "coalesce(t.relname, c.relname) FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid "
    "LEFT JOIN pg_class t ON t.oid = i.indrelid WHERE c.relnamespace = 'public'::regnamespace "
    "AND c.relkind IN ('r', 'p', 'm', 'i', 'I', 'S')"
)
_COLUMNS = (
    "SELECT c.relname, a.attnum, a.attname, a.attgenerated::text, "
    "format_type(a.atttypid, a.atttypmod) FROM pg_attribute a JOIN pg_class c ON c.oid = "
    "a.attrelid WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' "
    "AND a.attnum > 0 AND NOT a.attisdropped"
)
# No join to pg_class here: relations the migration creates are invisible to this session
# until it commits, so oids are resolved to names afterwards.
_LOCKS = (
    "SELECT relation::bigint, mode FROM pg_locks WHERE pid = %s AND locktype = 'relation' "
    "AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


@dataclass(frozen=True)
class Rewrite:
    table: str
    reason: str
    rows: int


@dataclass(frozen=True)
class LockHeld:
    """The strongest lock seen on a relation; times are accurate to one poll interval."""

    relation: str
    mode: str  # SQL spelling, e.g. "ACCESS EXCLUSIVE"
    held_s: float  # first to last poll that saw this mode, plus one interval
    observed_s: float  # polls that saw any lock on the relation, times the interval
    # Made by this migration: no other session can see it before commit, so harmless.
    created: bool = False


@dataclass(frozen=True)
class IndexBuild:
    name: str
    table: str
    rows: int  # rows the table held when the migration started


@dataclass(frozen=True)
class MigrationSafety:
    version: str
    description: str
    elapsed_s: float
    rewritten: tuple[Rewrite, ...]
    locks: tuple[LockHeld, ...]
    indexes: tuple[IndexBuild, ...]
    flags: tuple[str, ...]
    polls: int = 0
    poll_interval_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Rel:
    name: str
    kind: str
    filenode: int
    table: str  # the indexed table for an index, else the relation itself


@dataclass
class _Catalog:
    rels: dict[int, _Rel] = field(default_factory=dict)
    columns: dict[str, dict[int, tuple[str, str, str]]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def _catalog(conn: psycopg.Connection[Any]) -> _Catalog:
    cat = _Catalog()
    for oid, name, kind, filenode, table in conn.execute(_RELS).fetchall():
        cat.rels[int(oid)] = _Rel(name, kind, int(filenode), table)
    for table, attnum, name, generated, typ in conn.execute(_COLUMNS).fetchall():
        cat.columns.setdefault(table, {})[int(attnum)] = (name, generated, typ)
    for rel in cat.rels.values():
        if rel.kind == "r":
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(rel.name))
            row = conn.execute(query).fetchone()
            cat.rows[rel.name] = int(row[0]) if row else 0
    conn.commit()
    return cat


def _load(conn: psycopg.Connection[Any], round_no: int, rows: int) -> None:
    present = conn.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = "
                           "'public'::regnamespace AND relname = ANY(%s)", (list(DATA_TABLES),))
    # Only workspace and id: the one pair of columns every version of the data tables has.
    for (table,) in present.fetchall():
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (workspace, id) SELECT 'tenant' || (g %% 7) || ':kb' || (g %% 3), "
                "%s::text || g FROM generate_series(1, %s::int) AS g"
            ).format(sql.Identifier(table)),
            (f"r{round_no}-", rows),
        )
    conn.commit()


class _LockMonitor:
    """Polls the migrating backend's relation locks from its own connection, in a thread."""

    def __init__(self, dsn: str, pid: int, interval_s: float) -> None:
        self.pid, self.interval_s = pid, interval_s
        self.seen: dict[int, dict[str, list[float]]] = {}
        self.times: list[float] = []
        self.error: psycopg.Error | None = None
        self._stop, self._ready = threading.Event(), threading.Event()
        self._conn = connect(dsn, autocommit=True)
        # A poll can never hang, so stop() always gets the thread back.
        self._conn.execute("SET statement_timeout = '2s'")
        self._thread = threading.Thread(target=self._run, name="schema_kit-lock-monitor",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()
        # The first poll must precede the migration, or its first locks go unseen.
        self._ready.wait(timeout=5)

    def _run(self) -> None:
        try:
            while True:
                now = time.perf_counter()
                rows = self._conn.execute(_LOCKS, (self.pid,)).fetchall()
                self.times.append(now)
                for oid, mode in rows:
                    self.seen.setdefault(int(oid), {}).setdefault(mode, []).append(now)
                self._ready.set()
                if self._stop.wait(self.interval_s):
                    break
        except psycopg.Error as exc:
            self.error = exc
        finally:
            self._ready.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._conn.close()

    def period(self) -> float:
        span = len(self.times) - 1
        return (self.times[-1] - self.times[0]) / span if span > 0 else self.interval_s

    def locks(self, names: dict[int, str], existed: set[int]) -> tuple[LockHeld, ...]:
        period, found = self.period(), []
        for oid, modes in self.seen.items():
            if oid not in names:  # a catalog, or created and dropped in the same transaction
                continue
            mode = max(modes, key=lambda m: _RANK.get(m, -1))
            times = modes[mode]
            polls = len({t for ts in modes.values() for t in ts})
            held = times[-1] - times[0] + period
            found.append(LockHeld(names[oid], mode, round(held, 4), round(polls * period, 4),
                                  oid not in existed))
        found.sort(key=lambda f: (f.created, -_RANK.get(f.mode, -1), f.relation))
        return tuple(replace(f, mode=_SQL_MODE.get(f.mode, f.mode)) for f in found)


def _reason(before: dict[int, tuple[str, str, str]], after: dict[int, tuple[str, str, str]]) -> str:
    generated = [c[0] for n, c in after.items() if n not in before and c[1] == "s"]
    if generated:
        return "STORED generated column " + ", ".join(generated)
    retyped = [c[0] for n, c in after.items() if n in before and before[n][2] != c[2]]
    if retyped:
        return "column type changed: " + ", ".join(retyped)
    return "table rewritten"  # e.g. a volatile default, SET LOGGED, VACUUM FULL


def _flags(locks: Sequence[LockHeld], rewritten: Sequence[Rewrite],
           indexes: Sequence[IndexBuild]) -> tuple[str, ...]:
    flags = [
        f"ACCESS EXCLUSIVE on {lock.relation} for {lock.held_s:.3f} s"
        for lock in locks
        if lock.mode == "ACCESS EXCLUSIVE" and lock.relation in DATA_TABLES and not lock.created
    ]
    flags += [f"rewrote {r.table} ({r.reason}; {r.rows} rows)"
              for r in rewritten if r.table in DATA_TABLES]
    flags += [f"built {i.name} on {i.table} without CONCURRENTLY ({i.rows} rows)"
              for i in indexes if i.table in DATA_TABLES]
    return tuple(flags)


def _diff(before: _Catalog, after: _Catalog) -> tuple[tuple[Rewrite, ...], tuple[IndexBuild, ...]]:
    rewritten = tuple(
        Rewrite(rel.name, _reason(before.columns.get(rel.name, {}),
                                  after.columns.get(rel.name, {})), before.rows.get(rel.name, 0))
        for oid, rel in sorted(before.rels.items(), key=lambda r: r[1].name)
        if rel.kind in ("r", "m") and oid in after.rels and after.rels[oid].filenode != rel.filenode
    )
    indexes = tuple(
        IndexBuild(rel.name, rel.table, before.rows[rel.table])
        for oid, rel in sorted(after.rels.items(), key=lambda r: r[1].name)
        if rel.kind == "i" and oid not in before.rels and before.rows.get(rel.table, 0) > 0
    )
    return rewritten, indexes


def _measure(conn: psycopg.Connection[Any], migrator: Migrator, migration: Migration, dsn: str,
             round_no: int, rows: int, interval_s: float) -> MigrationSafety:
    _load(conn, round_no, rows)
    before = _catalog(conn)
    monitor = _LockMonitor(dsn, conn.info.backend_pid, interval_s)
    try:
        monitor.start()
        steps = migrator.migrate(migration.version)
    finally:
        monitor.stop()
    if monitor.error is not None:
        raise SchemaKitError(
            f"the lock monitor of {migration.version} failed [{monitor.error.sqlstate}] "
            f"{monitor.error}; its lock measurements are incomplete, run again"
        )
    after = _catalog(conn)
    rewritten, indexes = _diff(before, after)
    names = {oid: rel.name for oid, rel in (before.rels | after.rels).items()}
    locks = monitor.locks(names, set(before.rels))
    return MigrationSafety(
        str(migration.version), migration.description, sum(s.elapsed_s for s in steps),
        rewritten, locks, indexes, _flags(locks, rewritten, indexes),
        len(monitor.times), round(monitor.period(), 5),
    )


def measure_chain(
    source: Templates | Harness,
    rows_per_table: int = 200,
    *,
    migrations: Sequence[Migration] | None = None,
    poll_interval_s: float = 0.002,
) -> list[MigrationSafety]:
    """Run every up migration of ``migrations`` (the sql dir's by default) on a scratch
    database holding ``rows_per_table`` more rows per existing data table before each step.

    Raises MigrationError if a migration fails; the scratch database is dropped either way.
    """
    templates = source.templates if isinstance(source, Harness) else source
    chain = list(migrations) if migrations is not None else discover(templates.sql_dir)
    scratch = templates.scratch
    name = scratch.create("safety")
    try:
        dsn = scratch.dsn(name)
        with connect(dsn) as conn:
            migrator = Migrator(conn, chain, templates.params)
            return [
                _measure(conn, migrator, m, dsn, n, rows_per_table, poll_interval_s)
                for n, m in enumerate(chain)
            ]
    finally:
        scratch.drop(name)


def to_markdown(results: Sequence[MigrationSafety]) -> str:
    """A section per migration: its flags, then a table of the relations it locked."""
    lines: list[str] = []
    for r in results:
        created = sum(lock.created for lock in r.locks)
        lines += [f"### {r.version}: {r.description}", "",
                  f"{r.elapsed_s:.3f} s; {r.polls} lock polls, one every "
                  f"{r.poll_interval_s * 1000:.1f} ms; {created} relations created (their locks "
                  "block no one, so they are listed only with a finding)", ""]
        lines += [f"- **{flag}**" for flag in r.flags] or ["- no data-table finding"]
        notes: dict[str, list[str]] = {}
        for w in r.rewritten:
            notes.setdefault(w.table, []).append(f"rewritten ({w.reason}; {w.rows} rows)")
        for i in r.indexes:
            notes.setdefault(i.name, []).append(f"built on {i.table} without CONCURRENTLY")
        lines += ["", "| relation | strongest lock | held (s) | locked (s) | finding |",
                  "|---|---|---:|---:|---|"]
        for lock in r.locks:
            if lock.created and lock.relation not in notes:
                continue
            lines.append(f"| {lock.relation} | {lock.mode} | {lock.held_s:.3f} | "
                         f"{lock.observed_s:.3f} | {'; '.join(notes.pop(lock.relation, []))} |")
        lines += [f"| {rel} | (not seen) | | | {'; '.join(n)} |" for rel, n in notes.items()]
        lines.append("")
    return "\n".join(lines)
