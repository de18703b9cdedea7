"""``schema-kit``: migrate, rollback, status, snapshot, diff, verify, report-merge, audit,
lint, build-image, clean.

The flags of the options (``--dsn``, ``--backend`` …) are generated from ``config.OPTIONS``,
each subcommand naming the ones it takes, so they share the names, help and choices of the
pytest ini keys, pytest flags and env vars.

Exit codes: 0 success, 1 a difference or failed check was found, 2 bad input or environment
(a one-line error naming the cause and the remedy; never a traceback). ``status``, ``audit``,
``diff`` and ``lint`` take ``--json`` (the same result, machine-readable, on stdout; same
exit codes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import psycopg

from schema_kit.config import Settings, option_named, settings_from
from schema_kit.connect import connect, redact
from schema_kit.db.databases import SCRATCH_COMMENT
from schema_kit.db.migrations import Applied, Migration, Migrator, chain_bookkeeping, discover
from schema_kit.errors import ConfigError, SchemaKitError
from schema_kit.inspect import Difference, Snapshot, take_snapshot

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
_MIGRATION = ("sql_dir", "vector_dim", "vector_suffix", "migrations_table")
_LINT = ("squawk", "squawk_config")
# The options each subcommand takes (the rest of its arguments are its own, below).
_OPTIONS: dict[str, tuple[str | _Use, ...]] = {
    "migrate": (_TARGET, *_MIGRATION, "lock_timeout_ms", "lock_retries", "online"),
    "rollback": (_TARGET, *_MIGRATION, "lock_timeout_ms", "lock_retries"),
    "status": (_TARGET, "sql_dir", "migrations_table"),
    "snapshot": (_TARGET,),
    "verify": (
        "backend", _Use("dsn", "an existing server to create scratch databases on (alone, it "
                        "means backend dsn)"), "image", "storage", *_MIGRATION, "db_prefix",
        _Use("replay_dir", default="<--report dir>/replays"),
        # verify is the release job: its own default is the thorough profile.
        _Use("hypothesis_profile", "Hypothesis profile of verify's properties",
             default="thorough", alias="--profile"), *_LINT,
        "example_db", "upgrade_rows",
    ),
    "audit": (
        _TARGET, _Use("backend", "where the reference catalog is built"), "image", "storage",
        *_MIGRATION,
        "db_prefix",
    ),
    "lint": ("sql_dir", "vector_dim", "vector_suffix", *_LINT),
    "clean": ("reuse_dir",),
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
            *flags, dest=spec.name, help=spec.describe(use.help, use.default),
            **spec.flag_kwargs(),
        )
    parser.set_defaults(option_names=tuple(u.name for u in uses))


@dataclass(frozen=True)
class _Help:
    """A subcommand's --help: one line for the command list, what it does, examples, exit codes."""

    summary: str
    description: str
    examples: tuple[str, ...]
    exits: tuple[str, ...]

    def epilog(self) -> str:
        lines = ["examples:", *(f"  {e}" for e in self.examples), "", "exit codes:"]
        return "\n".join([*lines, *(f"  {e}" for e in self.exits)])


_BAD_INPUT = "2  bad input or environment: one line on stderr naming the cause and the remedy"
_HELP: dict[str, _Help] = {
    "migrate": _Help(
        "apply migrations up (or down) to a version",
        "Apply the migrations of the sql dir up to --to (head by default), each in one "
        "transaction with its row in the harness's bookkeeping (schema_kit_migrations), "
        "statement by statement: a failure keeps nothing of that migration and names the "
        "file:line of the statement. A target below the database's version runs down scripts, "
        "refused on a database that is not a schema_kit scratch one unless --allow-data-loss. "
        "A database built without schema_kit (tables but no bookkeeping) is refused until "
        "--baseline VERSION adopts it: the versions up to VERSION are recorded as applied "
        "without running them (then --to, if given, migrates on).",
        ("schema-kit migrate --dsn postgresql://app@localhost:5432/app",
         "schema-kit migrate --dsn \"$DSN\" --to 3.1.0 --sql-dir ./sql --vector-dim 3072",
         "schema-kit migrate --dsn \"$DSN\" --baseline 3.0.0   # adopt a psql-built database"),
        ("0  the database is at the target (also when there was nothing to do)",
         _BAD_INPUT,
         "   (also a refused chain, or a failed migration: the error names its file:line)"),
    ),
    "rollback": _Help(
        "run down scripts until the database is at --to",
        "Run the down scripts, newest first, until the database is at --to ('base': nothing "
        "applied). Refused on a database that is not a schema_kit scratch one unless "
        "--allow-data-loss: down scripts drop columns and tables with their data.",
        ("schema-kit rollback --dsn \"$DSN\" --to 3.0.0 --allow-data-loss",),
        ("0  the database is at the target",
         _BAD_INPUT,
         "   (also a target above the database's version, or a failed down script)"),
    ),
    "status": _Help(
        "applied and pending migrations, checksum state",
        "List each migration of the sql dir as pending, applied (when, checksum ok), applied by "
        "an init script (no checksum) or applied with a CHECKSUM MISMATCH (its file changed "
        "after it ran), and each applied version the sql dir does not have. Reads only: a "
        "database that was never migrated is left as it was.",
        ("schema-kit status --dsn \"$DSN\" --sql-dir ./sql",
         "schema-kit status --dsn \"$DSN\" --json | jq '.migrations[].state'"),
        ("0  every applied migration matches its file (pending ones are fine)",
         "1  a checksum mismatch, or a version applied that the sql dir does not have",
         _BAD_INPUT),
    ),
    "snapshot": _Help(
        "write the catalog snapshot of a database as JSON",
        "Write the catalog snapshot of a database (tables, columns, constraints, indexes, "
        "triggers, functions, policies, extensions) as JSON, for `schema-kit diff`.",
        ("schema-kit snapshot --dsn \"$DSN\" -o before.json",),
        ("0  written", _BAD_INPUT),
    ),
    "diff": _Help(
        "compare two snapshots (JSON files or DSNs); exit 1 if unequal",
        "Compare two catalog snapshots, each a JSON file written by `schema-kit snapshot` or a "
        "DSN read live: one line per differing object, '-' only in LEFT, '+' only in RIGHT, "
        "'~' changed (field: left value -> right value). Each side is named by its file or "
        "its DSN (password redacted).",
        ("schema-kit diff before.json postgresql://app@localhost:5432/app",
         "schema-kit diff before.json after.json --json"),
        ("0  the snapshots are equal", "1  they differ", _BAD_INPUT),
    ),
    "verify": _Help(
        "provision a server and check every invariant of the chain",
        "Provision a PostgreSQL server, apply the chain and run every registered check the way "
        "pytest runs it (with the thorough profile by default): each check on the chain at "
        "head, a Hypothesis property per invariant, the stateful workload; and where "
        "squawk's lint and the measured locks disagree (skipped without squawk). Writes "
        "report.md, junit.xml, report.json and the replay script of each failure "
        "(<check>-<version>.sql, in <report dir>/replays unless --replay-dir says otherwise). "
        "--shard K/N runs the K-th of N shares of the units (checks, versions, property seeds) "
        "for `schema-kit report-merge`; --example-db redis://host:port/N shares the failures "
        "found between machines.",
        ("schema-kit verify",
         "schema-kit verify --check isolation --check registration --profile dev",
         "schema-kit verify --shard 2/4 --example-db redis://ci-cache:6379/0 --report shard-2",
         "schema-kit verify --list"),
        ("0  every check holds (or --list)", "1  a check fails (the reports name it)",
         _BAD_INPUT),
    ),
    "report-merge": _Help(
        "join the reports of verify --shard K/N into one verdict",
        "Read report.json from the report dir of each shard of one `verify --shard K/N` run "
        "and write one report.md, junit.xml and report.json (to --report). Refused, naming the "
        "dirs: a shard missing or given twice, shards of another chain, profile, selection or "
        "N, a shard whose report lacks some of its units.",
        ("schema-kit report-merge shard-1 shard-2 shard-3 --report merged",),
        ("0  every check holds in the shard that ran it",
         "1  a check fails (the reports name it)", _BAD_INPUT),
    ),
    "audit": _Help(
        "read-only check of a live database (exit 1 on findings)",
        "Check a live database without writing to it (one READ ONLY transaction, rolled back): "
        "its schema version and checksums against the sql dir, catalog drift against a fresh "
        "install of that version (built on a reference server the harness starts, see "
        "--backend), and every model-free registered check over its rows.",
        ("schema-kit audit --dsn \"$DSN\"",
         "schema-kit audit --dsn \"$DSN\" --backend embedded --json > audit.json"),
        ("0  no findings", "1  findings (each named by its check)", _BAD_INPUT),
    ),
    "lint": _Help(
        "squawk over the chain's scripts (exit 1 on findings)",
        "Run squawk, a migration linter, over every up and down script of the sql dir, each "
        "rendered with the psql parameters (--vector-dim, --vector-suffix) as the migrator "
        "runs it, and print each finding at the script's own file:line with its rule and "
        "message, per migration. The rules are schema_kit's (commands/squawk.toml: lock, "
        "rewrite, index-build and data-loss rules for PostgreSQL 16; LightRAG's column types "
        "exempt) unless --squawk-config names a team's own. Needs squawk: "
        "pip install 'schema-kit[lint]'. No server is started.",
        ("schema-kit lint",
         "schema-kit lint --sql-dir ./sql --squawk-config .squawk.toml --json > lint.json"),
        ("0  no findings", "1  findings (each at its file:line, with its squawk rule)",
         _BAD_INPUT + " (also: squawk not installed)"),
    ),
    "bench-report": _Help(
        "markdown ratio table + PNG plot from pytest-benchmark JSON",
        "Turn pytest-benchmark JSON into a markdown ratio table + PNG",
        ("pytest --benchmark-only --benchmark-json=bench.json && "
         "schema-kit bench-report bench.json -o bench.md",
         "schema-kit bench-report b10k.json b100k.json -o bench.md --plot bench.png"),
        ("0  written", _BAD_INPUT),
    ),
    "build-image": _Help(
        "build the local PostgreSQL 16 + pgvector image",
        "Build schema-kit/pgvector:pg16-local (PostgreSQL 16.2 + pgvector 0.6.2, FROM scratch, "
        "from the pgserver wheel) with no image pull, for the container backend where no image "
        "registry is reachable.",
        ("schema-kit build-image", "schema-kit build-image --force"),
        ("0  built, or the tag already exists", _BAD_INPUT),
    ),
    "clean": _Help(
        "stop and remove the servers pytest --schema-kit-reuse kept",
        "Stop every embedded server that `pytest --schema-kit-reuse` kept between runs (one "
        "per project and xdist worker, under --reuse-dir) and remove its directory, "
        "templates included; print each one removed. A server a live pytest run owns is left "
        "running and named, with that run's pid.",
        ("schema-kit clean", "schema-kit clean --reuse-dir /tmp/sk-reuse"),
        ("0  removed what there was (also when there was nothing)",
         "2  a live run owns a server (named with its pid; the others are removed)"),
    ),
}


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("schema-kit")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        from schema_kit import __version__

        return __version__


def _add_command(sub: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    spec = _HELP[name]
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=spec.summary, description=textwrap.fill(spec.description, 88),
        epilog=spec.epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs,
    )
    return parser


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print the result as JSON on stdout (same exit codes)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="schema-kit", description="Invariant harness for the multi-tenant LightRAG schema",
        epilog="Run `schema-kit COMMAND --help` for a command's examples and exit codes.\n\n"
        "exit codes: 0 success, 1 a difference or failed check was found, 2 bad input or "
        "environment\n(one line on stderr naming the cause and the remedy)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"schema-kit {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = _add_command(sub, "migrate")
    _add_options(p, "migrate")
    p.add_argument("--to", default=None,
                   help="target version (default head, or only the baseline with --baseline; "
                   "'base' = none)")
    p.add_argument("--baseline", metavar="VERSION",
                   help="adopt a database built without schema_kit: record the versions up to "
                   "VERSION as applied without running them")
    p.add_argument("--allow-data-loss", action="store_true",
                   help="allow down scripts on a database that is not a schema_kit scratch one")
    p = _add_command(sub, "rollback")
    _add_options(p, "rollback")
    p.add_argument("--to", required=True, help="version to roll back to ('base' = none)")
    p.add_argument("--allow-data-loss", action="store_true",
                   help="allow down scripts on a database that is not a schema_kit scratch one")
    p = _add_command(sub, "status")
    _add_options(p, "status")
    _add_json(p)
    p = _add_command(sub, "snapshot")
    _add_options(p, "snapshot")
    p.add_argument("-o", "--output", help="file to write (default stdout)")
    p = _add_command(sub, "diff")
    p.add_argument("left", help="a snapshot JSON file or a DSN")
    p.add_argument("right", help="a snapshot JSON file or a DSN")
    _add_json(p)
    p = _add_command(sub, "verify")
    _add_options(p, "verify")
    p.add_argument("--report", default="schema-kit-report", help="directory for the reports")
    p.add_argument("--list", action="store_true",
                   help="print every registered check (name, family, needs, contract) and exit")
    p.add_argument("--check", action="append", default=[], metavar="NAME",
                   help="run only this registered check (repeatable; see --list)")
    p.add_argument("--no-shrink", action="store_true",
                   help="report each property's first failing example as found, unshrunk "
                   "(saved to the example database all the same): a quick first verdict")
    p.add_argument("--shard", metavar="K/N",
                   help="run only shard K of N (1 <= K <= N) of the run's units; join the N "
                   "report dirs with `schema-kit report-merge`")
    p = _add_command(sub, "report-merge")
    p.add_argument("reports", nargs="+", metavar="DIR", help="a shard's report dir")
    p.add_argument("--report", default="schema-kit-report",
                   help="directory for the merged reports")
    p = _add_command(sub, "audit")
    _add_options(p, "audit")
    _add_json(p)
    p = _add_command(sub, "lint")
    _add_options(p, "lint")
    _add_json(p)
    # It parses its own arguments (main hands them over before this parser runs).
    _add_command(sub, "bench-report", add_help=False)
    p = _add_command(sub, "clean")
    _add_options(p, "clean")
    p = _add_command(sub, "build-image")
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
    return Migrator(conn, discover(settings.sql_dir), settings.migration_params,
                    settings.migrations_table, settings.lock_timeout_ms, settings.lock_retries,
                    settings.online)


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


def _untracked(migrator: Migrator, dsn: str, tables: list[str] | None = None) -> str | None:
    """Why a database built without schema_kit cannot be migrated yet, or None (``tables``:
    its untracked tables, when already read)."""
    tables = migrator.untracked_tables() if tables is None else tables
    if not tables:
        return None
    shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
    return (
        f"{redact(dsn)} holds {len(tables)} table(s) ({shown}) but no schema_kit bookkeeping "
        f"({migrator.table}): it was built without schema_kit; adopt it at the version it is "
        "at with `schema-kit migrate --baseline VERSION` (`schema-kit audit` infers the "
        "version), then migrate"
    )


def _migrate(args: argparse.Namespace, *, down_only: bool) -> int:
    settings = _checked(args)
    baseline = getattr(args, "baseline", None)
    with connect(settings.dsn) as conn:
        migrator = _migrator(conn, settings)
        if baseline:
            adopted = migrator.baseline(baseline)
            print(f"adopted {redact(settings.dsn)} at {baseline}: recorded "
                  f"{', '.join(str(m.version) for m in adopted) or 'nothing'} as applied")
            if args.to is None:
                return 0
        elif (why := _untracked(migrator, settings.dsn)) is not None:
            raise ConfigError(why)
        target = args.to or "head"
        if down_only:
            goal, current = migrator.resolve(target), migrator.current()
            if goal is not None and (current is None or goal > current):
                raise ConfigError(
                    f"rollback --to {args.to}: the database is at {current or 'base'}, "
                    "below the target; use migrate --to to go up"
                )
        downs = [m for m, d in migrator.plan(target) if d == "down"]
        if downs and not args.allow_data_loss and not _is_scratch(conn):
            raise ConfigError(
                f"refusing to run down scripts ({', '.join(str(m.version) for m in downs)}) on "
                f"{redact(settings.dsn)}: it is not a schema_kit scratch database and down "
                "scripts drop columns and tables with their data; pass --allow-data-loss if "
                "you mean it"
            )
        steps = migrator.migrate(target, progress=lambda m: _say(f"  {m}"))
        now = migrator.current()
    if not steps:
        print(f"nothing to do: {redact(settings.dsn)} is at {now or 'base'}")
    else:
        total = sum(s.elapsed_s for s in steps)
        print(f"{len(steps)} step(s) in {total:.2f} s; now at {now or 'base'}")
    return 0


def _state(migration: Migration, row: Applied | None) -> str:
    if row is None:
        return "pending"
    if row.checksum is None:
        return "applied_without_checksum"
    return "applied" if row.checksum.strip() == migration.checksum else "checksum_mismatch"


_STATE_TEXT = {
    "pending": "pending",
    "applied_without_checksum": "applied (by init-postgres.sql; checksum not recorded)",
    "checksum_mismatch": "applied, CHECKSUM MISMATCH (file changed after it ran)",
}


def _when(row: Applied | None) -> str | None:
    return None if row is None or row.applied_at is None else row.applied_at.isoformat()


def _status(args: argparse.Namespace) -> int:
    settings = _checked(args)
    with connect(settings.dsn) as conn:
        migrator = _migrator(conn, settings)
        tables = migrator.untracked_tables()
        untracked = _untracked(migrator, settings.dsn, tables)
        own = chain_bookkeeping(conn)
        applied = {a.version: a for a in migrator.applied()}
    if untracked is not None:
        if args.json:
            print(json.dumps({"database": redact(settings.dsn), "tracked": False,
                              "tables": tables, "chain_schema_migrations": own, "ok": False},
                             indent=2))
            return 1
        print(f"not tracked: {untracked}")
        if own is not None:
            print(f"the chain's own schema_migrations lists: {', '.join(own) or 'no versions'}")
        return 1
    states = [(m, applied.get(m.version), _state(m, applied.get(m.version)))
              for m in migrator.migrations]
    known = {m.version for m in migrator.migrations}
    unknown = [applied[v] for v in sorted(set(applied) - known)]
    failing = unknown or any(state == "checksum_mismatch" for _, _, state in states)
    if args.json:
        print(json.dumps({
            "database": redact(settings.dsn),
            "sql_dir": str(settings.sql_dir),
            "current": str(max(applied)) if applied else None,
            "head": str(migrator.head),
            "ok": not failing,
            "migrations": [
                {"version": str(m.version), "name": m.name, "description": m.description,
                 "state": state, "applied_at": _when(row), "checksum": m.checksum,
                 "recorded_checksum": row.checksum.strip() if row and row.checksum else None}
                for m, row, state in states
            ],
            "unknown": [{"version": str(a.version), "description": a.description,
                         "applied_at": _when(a)} for a in unknown],
        }, indent=2))
        return 1 if failing else 0
    for m, row, state in states:
        text = _STATE_TEXT.get(state, "")
        if state == "applied" and row is not None:
            text = f"applied {row.applied_at:%Y-%m-%d %H:%M:%S}, checksum ok"
        print(f"{m.version!s:>8}  {text:<52}  {m.description}")
    for a in unknown:
        print(f"{a.version!s:>8}  applied, NOT IN {settings.sql_dir}")
    return 1 if failing else 0


def _source(source: str) -> tuple[Snapshot, str]:
    """The snapshot behind a diff argument, and what to call it: the file, or the DSN."""
    if "://" in source or "=" in source:
        with connect(source) as conn:
            return take_snapshot(conn), redact(source)
    path = Path(source)
    if not path.is_file():
        raise ConfigError(
            f"snapshot {source!r} is neither a readable JSON file nor a DSN; pass a file "
            "written by `schema-kit snapshot -o FILE` or a DSN like postgresql://host/db"
        )
    try:
        return Snapshot.load(path), source
    except ValueError as exc:
        raise ConfigError(
            f"snapshot file {source!r} is not valid JSON: {exc}; write it again with "
            "`schema-kit snapshot -o FILE`"
        ) from None


def _snapshot(args: argparse.Namespace) -> int:
    settings = _settings(args)
    with connect(_target_dsn(settings)) as conn:
        text = take_snapshot(conn).to_json()
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        _say(f"snapshot of {redact(settings.dsn)} written to {args.output}")
    else:
        print(text)
    return 0


def _diff(args: argparse.Namespace) -> int:
    (left, left_name), (right, right_name) = _source(args.left), _source(args.right)
    if left_name == right_name:  # the same name twice: say which argument is which
        left_name, right_name = f"{left_name} (left)", f"{right_name} (right)"
    differences: list[Difference] = left.differences(right)
    if args.json:
        print(json.dumps({
            "left": left_name, "right": right_name, "equal": not differences,
            "differences": [{**d.to_dict(), "line": d.line(left_name, right_name)}
                            for d in differences],
        }, indent=2, default=str))
        return 1 if differences else 0
    print(f"--- {left_name}\n+++ {right_name}")
    for difference in differences:
        print(difference.line(left_name, right_name))
    print(f"{len(differences)} difference(s)" if differences
          else f"snapshots are equal: {left_name} and {right_name}")
    return 1 if differences else 0


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
    from schema_kit.commands.reports import print_results, write_reports
    from schema_kit.commands.shards import Shard
    from schema_kit.commands.verify import list_checks, run_verification, selected
    from schema_kit.db.harness import Harness
    from schema_kit.workload.profiles import Choice, choose, hypothesis_settings

    if args.list:
        print(list_checks(REGISTRY))
        return 0
    selected(REGISTRY, args.check)  # an unknown name is refused before a server starts
    shard = Shard.parse(args.shard) if args.shard is not None else None
    settings, report = _verify_settings(args)
    discover(settings.sql_dir)
    # The process is verify's alone, but its properties still take their settings from the
    # chosen schema_kit profile explicitly (as under pytest): no Hypothesis profile is loaded.
    profile = settings.hypothesis_profile
    choose(Choice(profile, settings.example_db))
    hypothesis_settings(profile)  # an unreachable example database: refused before a server
    console = Console(stderr=True)
    harness = Harness(settings)
    try:
        with console.status("provisioning PostgreSQL …") as status:

            def say(message: str) -> None:
                console.log(message)
                status.update(message + " …")

            verification = run_verification(harness, profile, say, select=args.check,
                                             shard=shard, shrink=not args.no_shrink)
    finally:
        harness.close()
    print_results(console, verification, write_reports(verification, report))
    return 0 if verification.holds else 1


def _report_merge(args: argparse.Namespace) -> int:
    from rich.console import Console

    from schema_kit.commands.merge import merge_reports
    from schema_kit.commands.reports import print_results, write_reports

    merged = merge_reports([Path(d) for d in args.reports])
    paths = write_reports(merged, Path(args.report).resolve())
    print_results(Console(stderr=True), merged, paths)
    return 0 if merged.holds else 1


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
    if args.json:
        print(json.dumps({
            "target": result.target, "version": result.version, "clean": result.clean,
            "findings": [{"kind": f.kind, "detail": f.detail} for f in result.findings],
            "notes": result.notes,
        }, indent=2))
        return 0 if result.clean else 1
    print(f"audit of {result.target}: version {result.version or 'none'}")
    for note in result.notes:
        print(f"  note: {note}")
    for finding in result.findings:
        print(f"  {finding.kind}: {finding.detail}")
    print(f"{len(result.findings)} finding(s)" if result.findings else "no findings")
    return 0 if result.clean else 1


def _lint(args: argparse.Namespace) -> int:
    from schema_kit.commands.lint import run_lint, to_json, to_text

    result = run_lint(_settings(args))
    print(to_json(result) if args.json else to_text(result))
    return 0 if result.clean else 1


def _build_image(args: argparse.Namespace) -> int:
    from schema_kit.provision.image import build_local_image

    print(build_local_image(force=args.force, progress=_say))
    return 0


def _clean(args: argparse.Namespace) -> int:
    from schema_kit.errors import ProvisionError
    from schema_kit.provision.reuse import Cleaned, clean
    from schema_kit.provision.slots import default_roots, reuse_root
    from schema_kit.provision.storage import ram_candidates

    configured = _settings(args).reuse_dir
    roots = [configured] if configured is not None else default_roots(rams=ram_candidates())
    done = Cleaned()
    for root in roots:
        found = clean(root)
        done.removed.extend(found.removed)
        done.busy.extend(found.busy)
    for root in roots:
        # A RAM root is on a tmpfs everyone shares: not left behind empty.
        if configured is None and root != reuse_root(None):
            with contextlib.suppress(OSError):
                root.rmdir()
    for line in done.removed:
        print(line)
    if done.busy:
        raise ProvisionError(done.refusal())
    if not done.removed:
        print(f"nothing to clean under {', '.join(str(r) for r in roots)}")
    return 0


_COMMANDS = {
    "migrate": lambda a: _migrate(a, down_only=False),
    "rollback": lambda a: _migrate(a, down_only=True),
    "status": _status,
    "snapshot": _snapshot,
    "diff": _diff,
    "verify": _verify,
    "report-merge": _report_merge,
    "audit": _audit,
    "lint": _lint,
    "build-image": _build_image,
    "clean": _clean,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench-report"]:
        # It parses its own options; matplotlib is imported only when it draws.
        from schema_kit.bench.report import main as bench_report

        if {"-h", "--help"} & set(argv[1:]):
            with contextlib.suppress(SystemExit):  # its own help, then ours
                bench_report(["--help"])
            print(f"\n{_HELP['bench-report'].epilog()}")
            return 0
        return bench_report(argv[1:])
    args = _parser().parse_args(argv)
    try:
        result: int = _COMMANDS[args.command](args)
        return result
    except SchemaKitError as exc:
        print(f"schema-kit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except psycopg.Error as exc:  # a database we did not expect: one line, never a traceback
        first = (exc.diag.message_primary or str(exc)).strip().splitlines()[0]
        print(f"schema-kit {args.command}: error: the database answered "
              f"[{exc.sqlstate or 'no SQLSTATE'}] {first}; nothing was changed by this "
              "command beyond what it reported", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"schema-kit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
