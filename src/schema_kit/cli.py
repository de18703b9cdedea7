"""``schema-kit``: migrate, rollback, status, snapshot, diff, verify, audit, build-image.

The flags of the options (``--dsn``, ``--backend`` …) are generated from ``config.OPTIONS``,
each subcommand naming the ones it takes, so they share the names, help and choices of the
pytest ini keys, pytest flags and env vars.

Exit codes: 0 success, 1 a difference or failed check was found, 2 bad input or environment
(a one-line error naming the cause and the remedy; never a traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import psycopg

from schema_kit.config import Settings, option_named, settings_from
from schema_kit.connect import connect, redact
from schema_kit.db.databases import SCRATCH_COMMENT
from schema_kit.db.migrations import Migrator, discover
from schema_kit.errors import ConfigError, SchemaKitError
from schema_kit.inspect import Snapshot, take_snapshot

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """Bad arguments are one line naming the cause, like every other exit 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


@dataclass(frozen=True)
class _Use:
    """An option as one subcommand takes it, where its meaning there is narrower than the
    option's own help: ``help`` replaces that meaning, ``default`` the default shown;
    ``alias`` is a shorter flag it also answers to, listed first."""

    name: str
    help: str | None = None
    default: str | None = None
    alias: str | None = None


_TARGET = _Use("dsn", "the database to work on")
_MIGRATION = ("sql_dir", "vector_dim", "vector_suffix")
# The options each subcommand takes (the rest of its arguments are its own, below).
_OPTIONS: dict[str, tuple[str | _Use, ...]] = {
    "migrate": (_TARGET, *_MIGRATION),
    "rollback": (_TARGET, *_MIGRATION),
    "status": (_TARGET, "sql_dir"),
    "snapshot": (_TARGET,),
    "verify": (
        "backend", _Use("dsn", "an existing server to create scratch databases on (alone, it "
                        "means backend dsn)"), "image", *_MIGRATION, "db_prefix",
        _Use("replay_dir", default="<--report dir>/replays"),
        # verify is the release job: its own default is the thorough profile.
        _Use("hypothesis_profile", "Hypothesis profile of verify's properties",
             default="thorough", alias="--profile"),
    ),
    "audit": (
        _TARGET, _Use("backend", "where the reference catalog is built"), "image", *_MIGRATION,
        "db_prefix",
    ),
}


def _add_options(parser: argparse.ArgumentParser, command: str) -> None:
    """Add the subcommand's option flags, generated from ``config.OPTIONS``.

    Each defaults to None, so that an option not given falls through to its env var (and the
    Settings default) in ``settings_from``.
    """
    uses = [u if isinstance(u, _Use) else _Use(u) for u in _OPTIONS[command]]
    for use in uses:
        spec = option_named(use.name)
        flags = [use.alias, spec.cli_flag] if use.alias else [spec.cli_flag]
        parser.add_argument(
            *flags, dest=spec.name, choices=spec.choices or None,
            help=spec.describe(use.help, use.default),
        )
    parser.set_defaults(option_names=tuple(u.name for u in uses))


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="schema-kit", description="Invariant harness for the multi-tenant LightRAG schema"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("migrate", help="apply migrations up (or down) to a version")
    _add_options(p, "migrate")
    p.add_argument("--to", default="head", help="target version (default head; 'base' = none)")
    p.add_argument("--allow-data-loss", action="store_true",
                   help="allow down scripts on a database that is not a schema_kit scratch one")
    p = sub.add_parser("rollback", help="run down scripts until the database is at --to")
    _add_options(p, "rollback")
    p.add_argument("--to", required=True, help="version to roll back to ('base' = none)")
    p.add_argument("--allow-data-loss", action="store_true",
                   help="allow down scripts on a database that is not a schema_kit scratch one")
    p = sub.add_parser("status", help="applied and pending migrations, checksum state")
    _add_options(p, "status")
    p = sub.add_parser("snapshot", help="write the catalog snapshot of a database as JSON")
    _add_options(p, "snapshot")
    p.add_argument("-o", "--output", help="file to write (default stdout)")
    p = sub.add_parser("diff", help="compare two snapshots (JSON files or DSNs); exit 1 if unequal")
    p.add_argument("left")
    p.add_argument("right")
    p = sub.add_parser("verify", help="provision a server and check every invariant of the chain")
    _add_options(p, "verify")
    p.add_argument("--report", default="schema-kit-report", help="directory for the reports")
    p.add_argument("--list", action="store_true",
                   help="print every registered check (name, family, needs, contract) and exit")
    p.add_argument("--check", action="append", default=[], metavar="NAME",
                   help="run only this registered check (repeatable; see --list)")
    p = sub.add_parser("audit", help="read-only check of a live database (exit 1 on findings)")
    _add_options(p, "audit")
    sub.add_parser("bench-report", add_help=False,
                   help="markdown ratio table + PNG plot from pytest-benchmark JSON")
    p = sub.add_parser("build-image", help="build the local PostgreSQL 16 + pgvector image")
    p.add_argument("--force", action="store_true", help="rebuild even if the tag exists")
    return parser


def _explicit(args: argparse.Namespace) -> dict[str, str | None]:
    """The options the subcommand takes, as given on its command line (None: not given)."""
    names: tuple[str, ...] = getattr(args, "option_names", ())
    return {name: getattr(args, name) for name in names}


def _settings(args: argparse.Namespace) -> Settings:
    """The subcommand's settings: its flags > env vars > the options' defaults."""
    return settings_from(_explicit(args))


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


def _verify_settings(args: argparse.Namespace) -> tuple[Settings, Path]:
    """verify's settings and report dir: ``--dsn`` alone means backend dsn, replays go under
    the report dir unless ``--replay-dir`` or SCHEMA_KIT_REPLAY_DIR say otherwise, and the
    profile is ``thorough`` unless ``--profile`` or SCHEMA_KIT_HYPOTHESIS_PROFILE say
    otherwise."""
    explicit = _explicit(args)
    if not explicit["backend"] and explicit["dsn"]:
        explicit["backend"] = "dsn"
    report = Path(args.report).resolve()
    own = {"replay_dir": str(report / "replays"), "hypothesis_profile": "thorough"}
    settings = settings_from(explicit, own)
    return settings, report


def _verify(args: argparse.Namespace) -> int:
    from rich.console import Console

    from schema_kit.checks import REGISTRY
    from schema_kit.commands.reports import write_reports
    from schema_kit.commands.verify import list_checks, run_verification, selected
    from schema_kit.db.harness import Harness
    from schema_kit.workload.profiles import Choice, choose

    if args.list:
        print(list_checks(REGISTRY))
        return 0
    selected(REGISTRY, args.check)  # an unknown name is refused before a server starts
    settings, report = _verify_settings(args)
    discover(settings.sql_dir)
    # The process is verify's alone, but its properties still take their settings from the
    # chosen schema_kit profile explicitly (as under pytest): no Hypothesis profile is loaded.
    profile = settings.hypothesis_profile
    choose(Choice(profile, lambda: report / ".hypothesis"))
    console = Console(stderr=True)
    harness = Harness(settings)
    try:
        with console.status("provisioning PostgreSQL …") as status:

            def say(message: str) -> None:
                console.log(message)
                status.update(message + " …")

            verification = run_verification(harness, profile, say, select=args.check)
    finally:
        harness.close()
    paths = write_reports(verification, report)
    marks = {"holds": "[green]holds[/]", "FAILS": "[red bold]FAILS[/]"}
    for check in verification.checks:
        mark = marks.get(check.status, check.status)
        console.print(f"  {check.name:<36} {mark}  {check.elapsed_s:6.2f} s", highlight=False)
        if check.failed:
            console.print(f"    expected: {check.contract}" if check.contract else "",
                          highlight=False, markup=False)
            for line in check.failure.strip().splitlines()[:8]:
                console.print(f"    {line}", highlight=False, markup=False)
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
    explicit = {k: v for k, v in _explicit(args).items() if k != "dsn"}
    reference = Harness(settings_from(explicit, {}, env))
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
