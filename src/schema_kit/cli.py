"""``schema-kit``: migrate, rollback, status, snapshot, diff, build-image.

Exit codes: 0 success, 1 a difference or failed check was found, 2 bad input or environment
(a one-line error naming the cause and the remedy; never a traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg

from schema_kit.config import Settings, settings_from
from schema_kit.connect import connect, redact
from schema_kit.db.databases import SCRATCH_COMMENT
from schema_kit.db.migrations import Migrator, discover
from schema_kit.errors import ConfigError, SchemaKitError
from schema_kit.inspect import Snapshot, take_snapshot

__all__ = ["main"]


def _common(parser: argparse.ArgumentParser, *, dsn: bool = True) -> None:
    if dsn:
        parser.add_argument("--dsn", help="target database (env SCHEMA_KIT_DSN)")
    parser.add_argument("--sql-dir", help="migrations dir (env SCHEMA_KIT_SQL_DIR)")
    parser.add_argument("--vector-dim", help="VECTOR dimension (env SCHEMA_KIT_VECTOR_DIM)")
    parser.add_argument("--vector-suffix", help="LightRAG's vector table suffix, "
                        "<model>_<dim>d (env SCHEMA_KIT_VECTOR_SUFFIX)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="schema-kit", description="Invariant harness for the multi-tenant LightRAG schema"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("migrate", help="apply migrations up (or down) to a version")
    _common(p)
    p.add_argument("--to", default="head", help="target version (default head; 'base' = none)")
    p.add_argument("--allow-data-loss", action="store_true",
                   help="allow down scripts on a database that is not a schema_kit scratch one")
    p = sub.add_parser("rollback", help="run down scripts until the database is at --to")
    _common(p)
    p.add_argument("--to", required=True, help="version to roll back to ('base' = none)")
    p.add_argument("--allow-data-loss", action="store_true",
                   help="allow down scripts on a database that is not a schema_kit scratch one")
    p = sub.add_parser("status", help="applied and pending migrations, checksum state")
    _common(p)
    p = sub.add_parser("snapshot", help="write the catalog snapshot of a database as JSON")
    _common(p)
    p.add_argument("-o", "--output", help="file to write (default stdout)")
    p = sub.add_parser("diff", help="compare two snapshots (JSON files or DSNs); exit 1 if unequal")
    p.add_argument("left")
    p.add_argument("right")
    p = sub.add_parser("verify", help="provision a server and check every invariant of the chain")
    _common(p, dsn=False)
    p.add_argument("--backend", help="auto|container|embedded|dsn (env SCHEMA_KIT_BACKEND)")
    p.add_argument("--dsn", help="an existing server to create scratch databases on (backend dsn)")
    p.add_argument("--profile", default="thorough", help="Hypothesis profile: ci|dev|thorough")
    p.add_argument("--report", default="schema-kit-report", help="directory for the reports")
    p = sub.add_parser("audit", help="read-only check of a live database (exit 1 on findings)")
    _common(p)
    p.add_argument("--backend", help="where the reference catalog is built (default auto)")
    sub.add_parser("bench-report", add_help=False,
                   help="markdown ratio table + PNG plot from pytest-benchmark JSON")
    p = sub.add_parser("build-image", help="build the local PostgreSQL 16 + pgvector image")
    p.add_argument("--force", action="store_true", help="rebuild even if the tag exists")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    explicit = {
        "dsn": getattr(args, "dsn", None),
        "sql_dir": getattr(args, "sql_dir", None),
        "vector_dim": getattr(args, "vector_dim", None),
        "vector_suffix": getattr(args, "vector_suffix", None),
    }
    return settings_from(explicit, {})


def _target_dsn(settings: Settings) -> str:
    if not settings.dsn:
        raise ConfigError(
            "no database given: pass --dsn postgresql://user:pass@host:5432/db "
            "or set SCHEMA_KIT_DSN"
        )
    return settings.dsn


def _migrator(conn: psycopg.Connection[Any], settings: Settings) -> Migrator:
    return Migrator(conn, discover(settings.sql_dir), settings.migration_params)


def _checked(args: argparse.Namespace) -> Settings:
    """Settings whose sql dir and DSN are known good before any connection is made."""
    settings = _settings(args)
    discover(settings.sql_dir)
    _target_dsn(settings)
    return settings


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _is_scratch(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
        "WHERE datname = current_database()"
    ).fetchone()
    conn.rollback()
    return row is not None and row[0] == SCRATCH_COMMENT


def _migrate(args: argparse.Namespace, *, down_only: bool) -> int:
    settings = _checked(args)
    with connect(settings.dsn) as conn:
        migrator = _migrator(conn, settings)
        if down_only:
            goal, current = migrator.resolve(args.to), migrator.current()
            if goal is not None and (current is None or goal > current):
                raise ConfigError(
                    f"rollback --to {args.to}: the database is at {current or 'base'}, "
                    "below the target; use migrate --to to go up"
                )
        downs = [m for m, d in migrator.plan(args.to) if d == "down"]
        if downs and not args.allow_data_loss and not _is_scratch(conn):
            raise ConfigError(
                f"refusing to run down scripts ({', '.join(str(m.version) for m in downs)}) on "
                f"{redact(settings.dsn)}: it is not a schema_kit scratch database and down "
                "scripts drop columns and tables with their data; pass --allow-data-loss if "
                "you mean it"
            )
        steps = migrator.migrate(args.to, progress=lambda m: _say(f"  {m}"))
        now = migrator.current()
    if not steps:
        print(f"nothing to do: {redact(settings.dsn)} is at {now or 'base'}")
    else:
        total = sum(s.elapsed_s for s in steps)
        print(f"{len(steps)} step(s) in {total:.2f} s; now at {now or 'base'}")
    return 0


def _status(args: argparse.Namespace) -> int:
    settings = _checked(args)
    with connect(settings.dsn) as conn:
        migrator = _migrator(conn, settings)
        applied = {a.version: a for a in migrator.applied()}
        for m in migrator.migrations:
            row = applied.get(m.version)
            if row is None:
                state = "pending"
            elif row.checksum is None:
                state = "applied (by init-postgres.sql; checksum not recorded)"
            elif row.checksum.strip() == m.checksum:
                state = f"applied {row.applied_at:%Y-%m-%d %H:%M:%S}, checksum ok"
            else:
                state = "applied, CHECKSUM MISMATCH (file changed after it ran)"
            print(f"{m.version!s:>8}  {state:<52}  {m.description}")
        unknown = sorted(set(applied) - {m.version for m in migrator.migrations})
        for version in unknown:
            print(f"{version!s:>8}  applied, NOT IN {settings.sql_dir}")
    return 1 if unknown else 0


def _load_snapshot(source: str) -> Snapshot:
    if "://" in source or "=" in source:
        with connect(source) as conn:
            return take_snapshot(conn)
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"snapshot {source!r} is neither a readable JSON file nor a DSN")
    try:
        return Snapshot.load(path)
    except ValueError as exc:
        raise ConfigError(f"snapshot file {source!r} is not valid JSON: {exc}") from None


def _snapshot(args: argparse.Namespace) -> int:
    settings = _settings(args)
    with connect(_target_dsn(settings)) as conn:
        text = take_snapshot(conn).to_json()
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def _diff(args: argparse.Namespace) -> int:
    lines = _load_snapshot(args.left).diff(_load_snapshot(args.right))
    for line in lines:
        print(line)
    print(f"{len(lines)} difference(s)" if lines else "snapshots are equal")
    return 1 if lines else 0


def _verify(args: argparse.Namespace) -> int:
    from rich.console import Console

    from schema_kit.commands.reports import write_reports
    from schema_kit.commands.verify import run_verification
    from schema_kit.db.harness import Harness
    from schema_kit.workload.profiles import PROFILES, load_profile, register_profiles

    explicit = {
        "backend": args.backend or ("dsn" if args.dsn else None),
        "dsn": args.dsn,
        "sql_dir": args.sql_dir,
        "vector_dim": args.vector_dim,
        "vector_suffix": args.vector_suffix,
    }
    settings = settings_from(explicit, {})
    discover(settings.sql_dir)
    if args.profile not in PROFILES:
        raise ConfigError(f"profile={args.profile!r} must be one of {', '.join(PROFILES)}")
    report = Path(args.report).resolve()
    register_profiles(report / ".hypothesis")
    profile = load_profile(args.profile)
    os.environ["SCHEMA_KIT_REPLAY_DIR"] = str(report / "replays")
    console = Console(stderr=True)
    harness = Harness(settings)
    try:
        with console.status("provisioning PostgreSQL …") as status:

            def say(message: str) -> None:
                console.log(message)
                status.update(message + " …")

            verification = run_verification(harness, profile, say)
    finally:
        harness.close()
    paths = write_reports(verification, report)
    for check in verification.checks:
        mark = "[green]holds[/]" if check.holds else "[red bold]FAILS[/]"
        console.print(f"  {check.name:<36} {mark}  {check.elapsed_s:6.2f} s")
    verdict = "every invariant holds" if verification.holds else "INVARIANTS FAIL"
    console.print(f"{verdict} at {verification.head} ({verification.elapsed_s:.1f} s); "
                  f"reports: {', '.join(str(p) for p in paths)}")
    return 0 if verification.holds else 1


def _audit(args: argparse.Namespace) -> int:
    from schema_kit.commands.audit import run_audit
    from schema_kit.db.harness import Harness

    settings = _checked(args)
    # The reference server is never the audited one: SCHEMA_KIT_DSN names the target here.
    env = {k: v for k, v in os.environ.items() if k != "SCHEMA_KIT_DSN"}
    if env.get("SCHEMA_KIT_BACKEND") == "dsn":
        env.pop("SCHEMA_KIT_BACKEND")
    reference = Harness(settings_from(
        {"backend": args.backend, "sql_dir": args.sql_dir, "vector_dim": args.vector_dim,
         "vector_suffix": args.vector_suffix}, {}, env))
    try:
        result = run_audit(settings.dsn, settings.sql_dir, reference.templates, _say)
    finally:
        reference.close()
    print(f"audit of {result.target}: version {result.version or 'none'}")
    for note in result.notes:
        print(f"  note: {note}")
    for finding in result.findings:
        print(f"  {finding.kind}: {finding.detail}")
    print(f"{len(result.findings)} finding(s)" if result.findings else "no findings")
    return 0 if result.clean else 1


def _build_image(args: argparse.Namespace) -> int:
    from schema_kit.provision.image import build_local_image

    print(build_local_image(force=args.force, progress=_say))
    return 0


_COMMANDS = {
    "migrate": lambda a: _migrate(a, down_only=False),
    "rollback": lambda a: _migrate(a, down_only=True),
    "status": _status,
    "snapshot": _snapshot,
    "diff": _diff,
    "verify": _verify,
    "audit": _audit,
    "build-image": _build_image,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench-report"]:
        # It parses its own options; matplotlib is imported only when it draws.
        from schema_kit.bench.report import main as bench_report

        return bench_report(argv[1:])
    args = _parser().parse_args(argv)
    try:
        result: int = _COMMANDS[args.command](args)
        return result
    except SchemaKitError as exc:
        print(f"schema-kit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"schema-kit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
