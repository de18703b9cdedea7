"""The upgrade under load, measured: a loaded database upgraded while LightRAG keeps working.

A clone of the chain at ``start`` (the seed's 3.0.0) gets ``rows`` LightRAG-like rows
(``datagen``); a checksum per table is taken over the pre-loaded rows' data columns; writers
and readers (``load_workers``) start; the upgrade runs one migration at a time, each watched
by a ``BlockingMonitor``. Per migration: the statements that overlapped it (their longest
latency is the longest wait), their failures by SQLSTATE, the write latency percentiles and
who was seen blocked by the migrator. After: the checksums again, the writers' committed rows
(each present, none extra), and ``judge``: the caller's invariants over the whole database.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import psycopg

from schema_kit.connect import connect
from schema_kit.db.databases import Database, Templates
from schema_kit.db.migrations import Migrator, discover
from schema_kit.workload.datagen import Dataset, load
from schema_kit.workload.load_workers import Workers
from schema_kit.workload.oracle import Model
from schema_kit.workload.row_checksums import checksums, data_columns, lost, renamed, writer_rows
from schema_kit.workload.session import baseline
from schema_kit.workload.tables import DATA_TABLES, VECTOR_TABLES, tenant_tables
from schema_kit.workload.upgrade_step import Latency, MigrationLoad, migrate_watched

__all__ = ["SEED", "Judge", "Latency", "MigrationLoad", "UpgradeUnderLoad", "loaded_template",
           "measure_upgrade"]

SEED = "3.0.0"  # the release deployments upgrade from
# The invariants after: (connection, model of every committed row, writes refused) ->
# (check name, violation described) per violation.
Judge = Callable[[psycopg.Connection[Any], Model, Sequence[str]], list[tuple[str, str]]]


@dataclass(frozen=True)
class UpgradeUnderLoad:
    rows: int
    start: str
    target: str
    # None: the plain upgrade; else each lock waited for at most this, then re-run.
    lock_timeout_ms: int | None
    reached: str  # the last version applied (the target, unless a migration never applied)
    writers: int
    readers: int
    before: Latency  # writes before the first migration
    after: Latency  # writes after the last one
    migrations: tuple[MigrationLoad, ...]
    failed: dict[str, int]  # every failed statement, by SQLSTATE
    writer_rows: int  # rows the writers committed and still hold
    lost: tuple[tuple[str, str], ...]  # (what, detail): checksums or writers' rows that differ
    invariants: tuple[tuple[str, str], ...]  # (check, violation) from the judge
    online: bool = False  # each migration with an online form applied by that form

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UpgradeUnderLoad:
        """What ``to_dict`` wrote (a shard's report.json, read back by report-merge)."""
        def steps(m: dict[str, Any]) -> MigrationLoad:
            return replace(MigrationLoad(**m), errors=tuple(m["errors"]),
                           writes=Latency(**m["writes"]), reads=Latency(**m["reads"]))

        return replace(
            cls(**data), before=Latency(**data["before"]), after=Latency(**data["after"]),
            migrations=tuple(steps(m) for m in data["migrations"]),
            lost=tuple((str(a), str(b)) for a, b in data["lost"]),
            invariants=tuple((str(a), str(b)) for a, b in data["invariants"]))


def loaded_template(templates: Templates, rows: int, *, vector_dim: int = 1024,
                    start: str = SEED, seed: int = 0) -> str:
    """A template at ``start`` holding ``Dataset(rows, seed)``, for several measurements of
    one size (the benchmark's members): a clone of it is cheaper than loading 1M rows again.
    The caller drops it (``templates.scratch.drop``)."""
    name = templates.scratch.create("uload", template=templates.template(start))
    try:
        with connect(templates.scratch.dsn(name)) as conn:
            load(conn, Dataset(rows, seed=seed, vector_dim=vector_dim))
        templates.scratch.mark_template(name)
    except BaseException:
        templates.scratch.drop(name)
        raise
    return name


def measure_upgrade(templates: Templates, rows: int = 10_000, *, vector_dim: int = 1024,
                    start: str = SEED, target: str = "head", writers: int = 3, readers: int = 2,
                    warmup: int = 20, judge: Judge | None = None, seed: int = 0,
                    lock_timeout_ms: int | None = None, lock_retries: int = 10,
                    loaded: str | None = None, online: bool = False) -> UpgradeUnderLoad:
    """Load ``rows`` at ``start``, upgrade to ``target`` under load, judge what is left.

    ``warmup`` statements per worker run before the first migration and after the last (the
    before and after latencies). ``lock_timeout_ms`` runs each migration with that lock
    timeout, re-run up to ``lock_retries`` times when it expires (``Migrator``); ``online``
    applies a migration by its online form where it has one (``.online.sql``). ``loaded``
    names a template ``loaded_template`` made (the same rows, seed and start): cloned instead
    of loading again. The scratch database is dropped whatever happens.
    """
    suffix = str(templates.params.get("vector_suffix", ""))
    # Tables a writer reaches by one name at every version of the upgrade.
    written = [t for t in DATA_TABLES if not (suffix and t in VECTOR_TABLES)]
    if loaded is None:
        db = templates.clone(start, purpose="upload")
    else:
        name = templates.scratch.create("upload", template=loaded)
        db = Database(name, templates.scratch.dsn(name), start)
    try:
        dataset = Dataset(rows, seed=seed, vector_dim=vector_dim)
        with connect(db.dsn) as conn:
            if loaded is None:
                load(conn, dataset)
            tables = tenant_tables(conn)
            columns = data_columns(conn, tables)
            before = checksums(conn, columns, {})
            model = baseline(conn, tables)
            conn.rollback()
            migrator = Migrator(conn, discover(templates.sql_dir), templates.params,
                                templates.table, lock_timeout_ms, lock_retries, online)
            plan = [m for m, direction in migrator.plan(target) if direction == "up"]
            # The biggest tenants' kbs: where a deployment's traffic goes.
            spaces = [f"{t}:{k}" for t, k in dataset.workspaces[:12]]
            workers = Workers(db.dsn, spaces, written, vector_dim, writers, readers, seed)
            try:
                workers.start()
                workers.wait_for(warmup, 0.0)
                first = time.perf_counter()
                measured: list[MigrationLoad] = []
                for migration in plan:
                    measured.append(migrate_watched(conn, migrator, migration, db.dsn, workers))
                    if not measured[-1].applied:  # the later ones need it
                        break
                last = time.perf_counter()
                workers.wait_for(warmup, last)
            finally:
                workers.stop()
            log = [s for w in workers.workers for s in w.log]
            names = renamed(conn, tables, suffix)
            now = data_columns(conn, list(names.values()))
            gone = [(t, c) for t, cols in columns.items() for c in cols
                    if c not in now[names[t]]]
            after = checksums(conn, {t: c for t, c in columns.items()
                                     if not any(g[0] == t for g in gone)}, names)
            for w in workers.workers:
                model = model.merged(w.model)
            expected = {(k.table, k.workspace, k.id) for w in workers.workers
                        for k in w.model.rows}
            missing = [("data column gone", f"{t}.{c}") for t, c in gone]
            missing += lost({t: v for t, v in before.items() if t in after}, after, expected,
                            writer_rows(conn, names))
            refused = [f for w in workers.workers for f in w.failures]
            invariants = judge(conn, model, refused) if judge is not None else []
            conn.rollback()
    finally:
        templates.scratch.drop(db.name)
    writes = [s for s in log if s.kind == "write"]
    reached = [m.version for m in measured if m.applied]
    return UpgradeUnderLoad(
        rows, start, str(plan[-1].version) if plan else start, lock_timeout_ms,
        reached[-1] if reached else start,
        writers, readers, Latency.of([s for s in writes if s.end < first]),
        Latency.of([s for s in writes if s.start > last]), tuple(measured),
        dict(Counter(s.sqlstate for s in log if s.sqlstate)), len(expected), tuple(missing),
        tuple(invariants), online)
