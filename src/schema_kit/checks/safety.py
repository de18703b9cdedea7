"""Migration safety, measured while each up migration runs on a database that holds data.

On a fresh scratch database, rows go into the data tables that exist before each up
migration; the migration then runs while another connection polls ``pg_locks`` for the
migrating backend. A changed ``pg_class.relfilenode`` means a table was rewritten; an index
that appears on a table holding rows was built without CONCURRENTLY (impossible inside the
migrator's one transaction per file). ACCESS EXCLUSIVE on a data table, a rewrite of one and
such a build on one are flagged: each blocks LightRAG's readers or writers while it lasts.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, NamedTuple

import psycopg
from psycopg import sql

from schema_kit.checks.registry import ChainTarget, Check, Found, Needs
from schema_kit.connect import connect
from schema_kit.db.databases import Templates
from schema_kit.db.harness import Harness
from schema_kit.db.migrations import Migration, Migrator, discover
from schema_kit.errors import SchemaKitError
from schema_kit.workload.tables import DATA_TABLES

__all__ = [
    "MIGRATION_SAFETY",
    "IndexBuild",
    "LockHeld",
    "MigrationSafety",
    "Rewrite",
    "measure_chain",
    "to_markdown",
]

# Weakest to strongest, as the lock conflict table orders them.
_MODES = ("AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock",
          "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock")
_RANK = {m: i for i, m in enumerate(_MODES)}
# pg_locks says AccessExclusiveLock; reviewers know the LOCK TABLE spelling.
_SQL_MODE = {m: " ".join(re.findall("[A-Z][a-z]+", m[:-4])).upper() for m in _MODES}
_RELS = (
    "SELECT c.oid::bigint, c.relname, c.relkind::text, c.relfilenode::bigint, "
    "coalesce(t.relname, c.relname), ARRAY(SELECT a.attname || '#' || a.attnum "
    "FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attgenerated = 's' "
    "AND NOT a.attisdropped) FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid "
    "LEFT JOIN pg_class t ON t.oid = i.indrelid WHERE c.relnamespace = 'public'::regnamespace "
    "AND c.relkind IN ('r', 'p', 'm', 'i', 'I', 'S')"
)
# No join to pg_class: what the migration creates is invisible here until it commits, so
# oids are named afterwards.
_LOCKS = (
    "SELECT relation::bigint, mode, granted FROM pg_locks WHERE pid = %s AND locktype = "
    "'relation' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
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
    # The table the lock bears on: the relation itself for a table, the indexed table for an
    # index, "" for a sequence (so a lock can be compared per table with squawk's findings).
    table: str = ""


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


class _Rel(NamedTuple):
    name: str
    kind: str
    filenode: int
    table: str  # the indexed table for an index, else the relation itself
    generated: list[str]  # STORED generated columns as name#attnum


def _catalog(conn: psycopg.Connection[Any]) -> tuple[dict[int, _Rel], dict[str, int]]:
    rels = {int(r[0]): _Rel(*r[1:]) for r in conn.execute(_RELS).fetchall()}
    rows: dict[str, int] = {}
    for rel in (r for r in rels.values() if r.kind == "r"):
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(rel.name))
        rows[rel.name] = int((conn.execute(query).fetchone() or (0,))[0])
    conn.commit()
    return rels, rows


def _load(conn: psycopg.Connection[Any], round_no: int, count: int, rows: dict[str, int]) -> None:
    # Only workspace and id: the one pair of columns every version of the data tables has.
    for table in (t for t in DATA_TABLES if t in rows):
        rows[table] += count
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (workspace, id) SELECT 'tenant' || (g %% 7) || ':kb' || (g %% 3), "
                "%s::text || g FROM generate_series(1, %s::int) AS g"
            ).format(sql.Identifier(table)),
            (f"r{round_no}-", count),
        )
    conn.commit()


class _LockMonitor:
    """Polls the migrating backend's relation locks from its own connection, in a thread.

    Sampling alone misses what a fast migration locks between two polls. So a third
    connection (the gate) holds SHARE on the bookkeeping table, which the migrator's closing
    INSERT must wait for; relation locks last until commit, so the poll that sees the wait
    sees every one of them. The gate then opens; its wait is not counted in the wall time.
    """

    def __init__(self, dsn: str, pid: int, interval_s: float, table: str) -> None:
        self.pid, self.interval_s, self.gate_s = pid, interval_s, 0.0
        self.seen: dict[int, dict[str, list[float]]] = {}
        self.times: list[float] = []
        self.error: psycopg.Error | None = None
        self._stop, self._ready = threading.Event(), threading.Event()
        self._conn = connect(dsn, autocommit=True)
        try:
            # A poll can never hang, so stop() always gets the thread back.
            self._conn.execute("SET statement_timeout = '2s'")
            self._gate = connect(dsn)
            self._gate.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(
                sql.Identifier(*table.split("."))))
        except BaseException:
            self._conn.close()
            raise
        self._gated = True
        self._thread = threading.Thread(target=self._run, name="schema_kit-locks", daemon=True)

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
                for oid, mode, _ in (r for r in rows if r[2]):
                    self.seen.setdefault(int(oid), {}).setdefault(mode, []).append(now)
                if self._gated and not all(r[2] for r in rows):
                    # Nothing else on a scratch database makes the migration wait.
                    self._gate.rollback()
                    self._gated, self.gate_s = False, time.perf_counter() - now
                self._ready.set()
                if self._stop.wait(self.interval_s):
                    break
        except psycopg.Error as exc:
            self.error = exc
        finally:
            self._gate.close()  # never leave the migration waiting on a dead monitor
            self._ready.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._conn.close()
        self._gate.close()

    def period(self) -> float:
        span = len(self.times) - 1
        return (self.times[-1] - self.times[0]) / span if span > 0 else self.interval_s

    def locks(self, names: dict[int, str], existed: set[int],
              tables: dict[int, str]) -> tuple[LockHeld, ...]:
        period, found = self.period(), []
        for oid, modes in self.seen.items():
            if oid not in names:  # a catalog, or created and dropped in the same transaction
                continue
            mode = max(modes, key=lambda m: _RANK.get(m, -1))
            times = modes[mode]
            polls = len({t for ts in modes.values() for t in ts})
            held = times[-1] - times[0] + period
            found.append(LockHeld(names[oid], mode, round(held, 4), round(polls * period, 4),
                                  oid not in existed, tables.get(oid, "")))
        found.sort(key=lambda f: (f.created, -_RANK.get(f.mode, -1), f.relation))
        return tuple(replace(f, mode=_SQL_MODE.get(f.mode, f.mode)) for f in found)


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


def _reason(before: _Rel, after: _Rel) -> str:
    added = [g.split("#")[0] for g in after.generated if g not in before.generated]
    # Otherwise e.g. a column type change, a volatile default, SET LOGGED, VACUUM FULL.
    return "STORED generated column " + ", ".join(added) if added else "table rewritten"


def _measure(conn: psycopg.Connection[Any], migrator: Migrator, migration: Migration, dsn: str,
             round_no: int, count: int, interval_s: float) -> MigrationSafety:
    before, rows = _catalog(conn)
    _load(conn, round_no, count, rows)
    monitor = _LockMonitor(dsn, conn.info.backend_pid, interval_s, migrator.table)
    try:
        monitor.start()
        steps = migrator.migrate(migration.version)
    finally:
        monitor.stop()
    if monitor.error is not None:
        raise SchemaKitError(f"the lock monitor of {migration.version} failed "
                             f"[{monitor.error.sqlstate}] {monitor.error}; measurements incomplete")
    after, _ = _catalog(conn)
    rewritten = tuple(
        Rewrite(rel.name, _reason(rel, after[oid]), rows[rel.name])
        for oid, rel in sorted(before.items(), key=lambda r: r[1].name)
        if rel.kind in ("r", "m") and oid in after and after[oid].filenode != rel.filenode
    )
    indexes = tuple(
        IndexBuild(rel.name, rel.table, rows[rel.table])
        for oid, rel in sorted(after.items(), key=lambda r: r[1].name)
        if rel.kind == "i" and oid not in before and rows.get(rel.table, 0) > 0
    )
    # The migrator's bookkeeping is locked partly outside the migration.
    bookkeeping = migrator.table.split(".")[-1]
    names = {o: r.name for o, r in (before | after).items() if r.table != bookkeeping}
    tables = {o: r.table for o, r in (before | after).items() if r.kind != "S"}
    locks = monitor.locks(names, set(before), tables)
    elapsed = sum(s.elapsed_s for s in steps) - monitor.gate_s
    return MigrationSafety(str(migration.version), migration.description, round(elapsed, 4),
                           rewritten, locks, indexes, _flags(locks, rewritten, indexes),
                           len(monitor.times), round(monitor.period(), 5))


def measure_chain(source: Templates | Harness, rows_per_table: int = 200, *,
                  migrations: Sequence[Migration] | None = None,
                  poll_interval_s: float = 0.002) -> list[MigrationSafety]:
    """Each up migration of ``migrations`` (default: the sql dir's) on a scratch database,
    ``rows_per_table`` more rows per data table before each; dropped also on a MigrationError."""
    templates = source.templates if isinstance(source, Harness) else source
    chain = list(migrations) if migrations is not None else discover(templates.sql_dir)
    scratch = templates.scratch
    name = scratch.create("safety")
    try:
        dsn = scratch.dsn(name)
        with connect(dsn) as conn:
            templates.prepare(conn)
            migrator = Migrator(conn, chain, templates.params, templates.table)
            migrator.bootstrap()  # the gate locks the bookkeeping, also before the first step
            return [_measure(conn, migrator, m, dsn, n, rows_per_table, poll_interval_s)
                    for n, m in enumerate(chain)]
    finally:
        scratch.drop(name)


def to_markdown(results: Sequence[MigrationSafety]) -> str:
    """A section per migration: its flags, then a table of the relations it locked."""
    lines: list[str] = []
    for r in results:
        # Rewrites name tables and builds name indexes, so the keys never collide.
        notes = {w.table: f"rewritten ({w.reason}; {w.rows} rows)" for w in r.rewritten} | {
            i.name: f"built on {i.table} without CONCURRENTLY" for i in r.indexes}
        # What the migration creates no one else can see before commit: listed only if noted.
        rows = [f"| {k.relation} | {k.mode} | {k.held_s:.3f} | {k.observed_s:.3f} | "
                f"{notes.pop(k.relation, '')} |" for k in r.locks
                if not k.created or k.relation in notes]
        rows += [f"| {rel} | (lock not seen) | | | {note} |" for rel, note in notes.items()]
        lines += [f"### {r.version}: {r.description}", "",
                  f"{r.elapsed_s:.3f} s; {r.polls} lock polls, one every "
                  f"{r.poll_interval_s * 1000:.1f} ms; {sum(k.created for k in r.locks)} "
                  "relations created", "",
                  *([f"- **{flag}**" for flag in r.flags] or ["- no data-table finding"]), ""]
        if rows:
            lines += ["| relation | strongest lock | held (s) | locked (s) | finding |",
                      "|---|---|---:|---:|---|", *rows, ""]
    return "\n".join(lines)


def _detect(target: ChainTarget) -> Found:
    measured = measure_chain(target.templates)
    rows = [(m.version, flag) for m in measured for flag in m.flags]
    return Found(rows=rows, examples=len(measured), detail=measured)


MIGRATION_SAFETY = Check(
    "migration_safety", "migration safety",
    "no up migration rewrites a data table, holds ACCESS EXCLUSIVE on one or builds an index "
    "on one without CONCURRENTLY (measured on data; reported, never failing verify)",
    Needs.CHAIN, ("version", "finding"), detect=_detect, gating=False,
)
