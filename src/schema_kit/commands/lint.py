"""``schema-kit lint``: squawk over every script of the chain, as the migrator would run it.

squawk cannot read psql's variables (``VECTOR(:vector_dim)`` is a syntax error to it), so each
script is rendered with the run's parameters first, line by line and with its psql
meta-commands blanked, into a temp dir that is removed after, also on an error or Ctrl-C.
Every line of a rendered file comes from the same line of the original (``Script`` keeps the
map), so each finding is reported at the file and line a reviewer edits.
"""

from __future__ import annotations

import bisect
import json
import os
import shutil
import subprocess
import sysconfig
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schema_kit.config import Settings
from schema_kit.db.migrations import DEFAULT_PARAMS, Migration, discover
from schema_kit.db.own_transactions import transaction_control
from schema_kit.db.psql import sql_only
from schema_kit.db.sqlscript import Script
from schema_kit.errors import ConfigError

__all__ = ["LINT_INSTALL", "PACKAGED_CONFIG", "LintFinding", "LintResult", "SquawkMissing",
           "run_lint", "squawk_binary", "to_json", "to_text"]

LINT_INSTALL = "pip install 'schema-kit[lint]'"
PACKAGED_CONFIG = Path(__file__).resolve().with_name("squawk.toml")


class SquawkMissing(ConfigError):
    """No squawk to run; ``short`` is the reason as verify reports a skipped lint."""

    short = f"squawk not installed ({LINT_INSTALL})"


@dataclass(frozen=True, order=True)
class LintFinding:
    """One squawk finding, at the original script's line (1-based)."""

    version: str
    direction: str  # "up" or "down"
    path: Path
    line: int
    rule: str
    message: str
    level: str = "Warning"
    help: str = ""
    # 1-based, in the rendered line: the file's own column unless a parameter before it on
    # that line was substituted.
    column: int = 1
    # The rendered statement the finding is in (lint_locks reads its table from it).
    statement: str = field(default="", repr=False, compare=False)

    def where(self) -> str:
        return f"{_shown(self.path)}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "direction": self.direction, "file": str(self.path),
                "line": self.line, "column": self.column, "rule": self.rule,
                "level": self.level, "message": self.message, "help": self.help}


@dataclass
class LintResult:
    sql_dir: Path
    config: Path
    squawk: str  # squawk's --version line
    migrations: list[Migration]
    findings: list[LintFinding]

    @property
    def clean(self) -> bool:
        return not self.findings

    def of(self, migration: Migration) -> list[LintFinding]:
        return [f for f in self.findings if f.version == str(migration.version)]


def _shown(path: Path) -> str:
    """A path as a reviewer clicks it: relative to the working directory when under it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def squawk_binary(name: str) -> Path:
    """The squawk to run: ``name`` as a path, else on PATH, else next to this Python's
    scripts (where pip put it, also when that directory is not on PATH)."""
    if os.sep in name:
        path = Path(name).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise SquawkMissing(f"squawk not installed: squawk={name!r} is not an executable "
                            f"file; {LINT_INSTALL}, or point --squawk / SCHEMA_KIT_SQUAWK at it")
    scripts = sysconfig.get_path("scripts")
    found = shutil.which(name) or shutil.which(name, path=scripts)
    if found is None:
        raise SquawkMissing(f"squawk not installed: squawk={name!r} is neither on PATH nor in "
                            f"{scripts}; {LINT_INSTALL}, or point --squawk / SCHEMA_KIT_SQUAWK "
                            "at it")
    return Path(found)


def _config(path: Path | None) -> Path:
    config = path or PACKAGED_CONFIG
    if not config.is_file():
        raise ConfigError(f"squawk_config={str(config)!r} is not a file; point --squawk-config "
                          "/ SCHEMA_KIT_SQUAWK_CONFIG at a squawk .toml, or leave it unset for "
                          "schema_kit's own")
    return config


def _run(binary: Path, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([str(binary), *args], capture_output=True, text=True,
                              check=False)
    except OSError as exc:
        raise SquawkMissing(f"squawk={str(binary)!r} could not be run ({exc.strerror}); "
                            f"{LINT_INSTALL}, or point --squawk at a working squawk") from None


def _squawk(binary: Path, config: Path, files: Sequence[Path], *extra: str) -> list[Any]:
    """squawk's JSON findings for ``files``. Its exit code is 1 for findings and for errors
    alike, so an error is told apart by stdout not being the JSON list."""
    if not files:
        return []
    result = _run(binary, ["--reporter", "json", "--config", str(config), *extra,
                           *(str(f) for f in files)])
    try:
        found = json.loads(result.stdout)
    except json.JSONDecodeError:
        found = None
    if not isinstance(found, list):
        why = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[0]
        raise ConfigError(f"squawk ({binary}, config {config}) failed (exit "
                          f"{result.returncode}): {why}; fix the config or the script it names")
    return found


@dataclass(frozen=True)
class _Source:
    migration: Migration
    direction: str
    script: Script
    # Where each line of the rendered text starts.
    lines: tuple[int, ...]


def _render(chain: Sequence[Migration], params: dict[str, int | str],
            into: Path) -> dict[str, _Source]:
    """Each script of ``chain`` rendered into ``into``, by the rendered file's path."""
    sources = {}
    for migration in chain:
        for direction, path in (("up", migration.up_path), ("down", migration.down_path)):
            script = Script.load(path, params)
            text = sql_only(script.rendered)  # same length: offsets and lines are kept
            rendered = (into / path.name).resolve()
            rendered.write_text(text, encoding="utf-8")
            starts = (0, *(i + 1 for i, c in enumerate(text) if c == "\n"))
            sources[str(rendered)] = _Source(migration, direction, script, starts)
    return sources


def _finding(sources: dict[str, _Source], raw: dict[str, Any]) -> LintFinding:
    # Passed resolved, and looked up resolved, whether squawk echoes a path or normalises it.
    source = sources[str(Path(raw["file"]).resolve())]
    # squawk 2's JSON reporter counts lines and columns from 0 (its tty reporter from 1).
    row = min(int(raw["line"]), len(source.lines) - 1)
    offset = source.lines[row] + int(raw["column"])
    statements = source.script.statements
    at = bisect.bisect_right([s.start for s in statements], offset) - 1
    statement = source.script.text(statements[at]) if at >= 0 else ""
    return LintFinding(str(source.migration.version), source.direction, source.script.path,
                       source.script.line_at(offset), str(raw["rule_name"]),
                       str(raw["message"]), str(raw.get("level") or "Warning"),
                       str(raw.get("help") or ""), int(raw["column"]) + 1, statement)


def run_lint(settings: Settings) -> LintResult:
    """squawk over every up and down script of ``settings.sql_dir``."""
    binary = squawk_binary(settings.squawk)
    config = _config(settings.squawk_config)
    chain = discover(settings.sql_dir)
    params = {**DEFAULT_PARAMS, **settings.migration_params}
    with tempfile.TemporaryDirectory(prefix="schema-kit-lint-") as tmp:
        sources = _render(chain, params, Path(tmp))
        own = [Path(p) for p, s in sources.items() if transaction_control(s.script)]
        rest = [Path(p) for p in sources if Path(p) not in own]
        found = _squawk(binary, config, rest)
        found += _squawk(binary, config, own, "--no-assume-in-transaction")
        findings = [_finding(sources, raw) for raw in found]
    version = _run(binary, ["--version"]).stdout.strip()
    order = {str(m.version): n for n, m in enumerate(chain)}
    findings.sort(key=lambda f: (order[f.version], f.direction != "up", f.line, f.rule))
    return LintResult(settings.sql_dir, config, version, chain, findings)


def _count(n: int) -> str:
    return f"{n} finding(s)" if n else "no findings"


def _lines(result: LintResult) -> Iterator[str]:
    for migration in result.migrations:
        found = result.of(migration)
        yield f"{migration.version} {migration.name}: {_count(len(found))}"
        for f in found:
            yield f"  {f.where()}: {f.rule}: {f.message}"
    rules = Counter(f.rule for f in result.findings)
    if rules:
        yield "by rule: " + ", ".join(f"{rule} {n}" for rule, n in rules.most_common())
    files = len({f.path for f in result.findings})
    yield (f"{_count(len(result.findings))} in {files} of {2 * len(result.migrations)} scripts "
           f"({result.squawk}, config {_shown(result.config)})")


def to_text(result: LintResult) -> str:
    return "\n".join(_lines(result))


def to_json(result: LintResult) -> str:
    return json.dumps({
        "sql_dir": str(result.sql_dir), "config": str(result.config), "squawk": result.squawk,
        "clean": result.clean, "scripts": 2 * len(result.migrations),
        "migrations": [{"version": str(m.version), "name": m.name,
                        "findings": [f.to_dict() for f in result.of(m)]}
                       for m in result.migrations],
    }, indent=2)
