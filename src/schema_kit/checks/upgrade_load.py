"""The upgrade under load as a registered check (SPEC 4.9): measured, reported, and judged.

``workload.upgrade_load`` upgrades a loaded seed database while LightRAG-shaped writers and
readers run. This check reports its per-migration figures (a measurement: never failing
verify) and turns into violation rows only what contradicts the contract: a pre-loaded row
changed or gone, a committed write missing (or a row no commit left), and a data check that
fails after the upgrade (a write the contract accepts but the database refused among them:
the acceptance check reports those).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from schema_kit.checks.registry import ChainTarget, Check, DataTarget, Found, Needs, describe_rows
from schema_kit.db.databases import Templates
from schema_kit.db.migrations import Migration, Version, discover
from schema_kit.workload.oracle import Model
from schema_kit.workload.tables import tenant_tables
from schema_kit.workload.upgrade_load import SEED, Judge, UpgradeUnderLoad, measure_upgrade

__all__ = ["ONLINE_LOCK_TIMEOUT_MS", "has_online_form", "run_upgrade_under_load", "to_markdown",
           "upgrade_under_load_check"]

# The online upgrade's lock timeout: its swaps wait at most this long, then run again.
ONLINE_LOCK_TIMEOUT_MS = 100


def has_online_form(chain: Sequence[Migration], target: str) -> bool:
    """Whether a migration of ``chain`` after the seed, up to ``target``, has an online form."""
    last = chain[-1].version if target == "head" else Version.parse(target)
    return any(m.online_path is not None for m in chain
               if Version.parse(SEED) < m.version <= last)


def _judge(checks: Sequence[Check]) -> Judge:
    def judge(conn: psycopg.Connection[Any], model: Model,
              refused: Sequence[str]) -> list[tuple[str, str]]:
        target = DataTarget(conn, tenant_tables(conn), model, frozenset(model.workspaces()),
                            tuple(refused))
        found = []
        for check in checks:
            skipped = check.skip_when(conn) if check.skip_when is not None else None
            rows = [] if skipped else check.run(target)
            if rows:
                found.append((check.name, describe_rows(check, rows, limit=5)))
        conn.rollback()
        return found

    return judge


def run_upgrade_under_load(templates: Templates, checks: Sequence[Check], rows: int,
                           vector_dim: int = 1024, **options: Any) -> UpgradeUnderLoad:
    """``measure_upgrade`` judged by ``checks`` (the registry's data checks, normally)."""
    return measure_upgrade(templates, rows, vector_dim=vector_dim, judge=_judge(checks),
                           **options)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def to_markdown(result: UpgradeUnderLoad) -> str:
    """One row per migration (waits, failures, latencies, who was blocked), then the after."""
    lines = [
        f"{result.rows} rows loaded at {result.start}, upgraded to {result.reached} (target "
        f"{result.target}), "
        + ("the online form of each migration that has one (`.online.sql`), " if result.online
           else "")
        + ("plain" if result.lock_timeout_ms is None and not result.online else
           "no lock timeout" if result.lock_timeout_ms is None else
           f"each lock waited for at most {result.lock_timeout_ms} ms, then re-run") + ", with "
        f"{result.writers} writers and {result.readers} readers running. Writes (batched "
        f"upsert or delete, with its COMMIT) before the upgrade: p50 {result.before.p50_ms} "
        f"ms, p99 {result.before.p99_ms} ms ({result.before.count}); after: p50 "
        f"{result.after.p50_ms} ms, p99 {result.after.p99_ms} ms ({result.after.count}).", "",
        "| migration | attempts | time (s) | held (ms) | longest wait (ms) | writes | write p50 "
        "/ p99 / max (ms) | reads | read max (ms) | failed statements | blocked by the "
        "migration |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for m in result.migrations:
        failed = ", ".join(f"{state}: {n}" for state, n in sorted(m.failed.items())) or "none"
        blocked = ", ".join(sorted(m.blocked)) or "none seen"
        if m.waited_on:  # what they waited for, most seen first
            kinds = sorted(m.waited_on, key=lambda k: (-m.waited_on[k], k))
            more = f", {len(kinds) - 2} more" if len(kinds) > 2 else ""
            blocked += f" (waiting for {', '.join(kinds[:2])}{more})"
        tries = f"{m.attempts}" + (f" + {m.lock_timeouts} lock timeouts" if m.lock_timeouts
                                   else "") + ("" if m.applied else " (never applied)")
        lines.append(
            f"| {m.version} {m.description} | {tries} | {m.elapsed_s:.3f} | {_ms(m.held_s)} | "
            f"{_ms(m.longest_wait_s)} | {m.writes.count} | {m.writes.p50_ms} / "
            f"{m.writes.p99_ms} / {m.writes.max_ms} | {m.reads.count} | {m.reads.max_ms} | "
            f"{failed} | {blocked} |")
    refusals = [(m.version, e) for m in result.migrations for e in m.errors]
    if refusals:
        lines += ["", "Migration attempts refused under load (re-run when the SQLSTATE is "
                  "transient: class 40; a lock timeout, 55P03, after the migrator's own "
                  "re-runs):", ""]
        lines += [f"- {version}: {error.splitlines()[0][:400]}" for version, error in refusals]
    lines += ["", f"After: {result.writer_rows} rows the writers committed; "
              + ("every pre-loaded row's checksum and every committed row as before"
                 if not result.lost else f"**{len(result.lost)} rows lost or changed**")
              + "; " + ("every data check holds." if not result.invariants else
                        "**data checks failing: "
                        + ", ".join(name for name, _ in result.invariants) + "**"), ""]
    lines += [f"- {what}: {detail}" for what, detail in result.lost[:20]]
    lines += [f"- {name}:\n\n```\n{detail}\n```" for name, detail in result.invariants]
    return "\n".join(lines) + "\n"


def upgrade_under_load_check(checks: Callable[[], Sequence[Check]]) -> Check:
    """The upgrade under load, judging what it leaves by ``checks()``."""

    def detect(target: ChainTarget) -> Found:
        chain = discover(target.templates.sql_dir)
        versions = [str(m.version) for m in chain]
        if SEED not in versions:
            return Found(skipped=f"the chain has no version {SEED} (the seed) to upgrade from")
        if target.version != "head" and target.version not in versions[versions.index(SEED) + 1:]:
            return Found(skipped=f"no upgrade from {SEED} to {target.version}")
        results = [run_upgrade_under_load(target.templates, checks(), target.upgrade_rows,
                                          target.vector_dim, target=target.version)]
        if has_online_form(chain, target.version):
            results.append(run_upgrade_under_load(
                target.templates, checks(), target.upgrade_rows, target.vector_dim,
                target=target.version, online=True, lock_timeout_ms=ONLINE_LOCK_TIMEOUT_MS))
        rows = []
        for result in results:
            how = "online: " if result.online else ""
            rows += [("upgrade stopped", f"{how}{m.version} never applied: {m.errors[-1][:300]}")
                     for m in result.migrations if not m.applied]
            rows += [(what, how + detail) for what, detail in (*result.lost, *result.invariants)]
        return Found(rows=rows, examples=sum(len(r.migrations) for r in results),
                     checked_rows=sum(r.rows + r.writer_rows for r in results),
                     detail=tuple(results))

    return Check(
        "upgrade_under_load", "migration safety",
        f"upgrading a loaded {SEED} database to head while LightRAG-shaped writers and readers "
        "run applies every migration, loses no row and every data check holds after (waits, "
        "failures and latencies per migration are measured; reported, never failing verify)",
        Needs.CHAIN, ("what", "detail"), detect=detect, gating=False,
    )
