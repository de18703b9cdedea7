"""Migration round trips (SPEC invariant 6): down scripts restore each prior catalog exactly,
back up equals a fresh install, and every init script equals the chain at its version."""

from __future__ import annotations

from pathlib import Path

from schema_kit.checks.registry import ChainTarget, Check, Found, Needs, Violation
from schema_kit.db.migrations import Migrator, apply_script, discover
from schema_kit.errors import MigrationError
from schema_kit.inspect import take_snapshot

__all__ = ["INIT_EQUALS_CHAIN", "ROUND_TRIP", "declared_version"]


def _round_trip(target: ChainTarget) -> Found:
    templates, version = target.templates, target.version
    chain = discover(templates.sql_dir)
    problems: list[Violation] = []
    with templates.database(version) as db, db.connect() as conn:
        head = take_snapshot(conn)
        migrator = Migrator(conn, chain, templates.params, templates.table)
        try:
            for previous in reversed([str(m.version) for m in chain][:-1]):
                migrator.migrate(previous)
                with templates.database(previous) as fresh, fresh.connect() as other:
                    expected = take_snapshot(other)
                lines = take_snapshot(conn).diff(expected, "the rolled-back database",
                                                 f"a fresh {previous}")
                problems += [(f"down to {previous}", d) for d in lines]
            migrator.migrate(version)
            lines = take_snapshot(conn).diff(head, "the database back up",
                                             "the database before the round trip")
            problems += [("back up", d) for d in lines]
        except MigrationError as exc:
            problems.append(("the round trip stopped", str(exc)))
    return Found(rows=problems, examples=1)


def declared_version(script: Path) -> str | None:
    """The version an init script says it installs (``-- version:`` in its first lines)."""
    for line in script.read_text("utf-8").splitlines()[:5]:
        if line.startswith("-- version:"):
            return line.split(":", 1)[1].strip()
    return None


def _init(target: ChainTarget) -> Found:
    templates = target.templates
    scripts = sorted(Path(templates.sql_dir).glob("init-postgres*.sql"))
    if not scripts:
        return Found(skipped=f"no init-postgres*.sql in {templates.sql_dir}")
    problems: list[Violation] = []
    for script in scripts:
        declared = declared_version(script)
        if declared is None:
            problems.append((script.name, "declares no '-- version:' line"))
            continue
        with templates.database(declared) as chain_db, chain_db.connect() as conn:
            chain = take_snapshot(conn)
        with templates.database(None) as db, db.connect() as conn:
            apply_script(conn, script, templates.params)
            lines = take_snapshot(conn).diff(chain, script.name, f"the chain at {declared}")
            problems += [(script.name, d) for d in lines]
    return Found(rows=problems, examples=len(scripts))


ROUND_TRIP = Check(
    "round_trip", "round trip",
    "each version's down script restores the previous version's catalog exactly, and "
    "migrating back up equals a fresh install",
    Needs.CHAIN, ("step", "difference"), detect=_round_trip,
)
INIT_EQUALS_CHAIN = Check(
    "init_equals_chain", "round trip",
    "every init-postgres*.sql installs the catalog the chain has at the version it declares",
    Needs.CHAIN, ("script", "difference"), detect=_init,
)
