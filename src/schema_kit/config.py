"""Settings: one frozen dataclass, every option under one name as ini key, flags and env var.

An option called ``backend`` is the pytest ini key ``schema_kit_backend``, the pytest flag
``--schema-kit-backend``, the CLI flag ``--backend`` and the env var ``SCHEMA_KIT_BACKEND``.
Precedence: flag > env var > ini key > default.

``OPTIONS`` is the only place an option is defined: the pytest plugin and the CLI generate
their keys and flags from it, and the ``Settings`` field defaults are its defaults, parsed, so
the documented default and the one used cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schema_kit.errors import ConfigError

__all__ = [
    "BACKENDS",
    "EXAMPLE_DB_FORMS",
    "HYPOTHESIS_PROFILES",
    "OPTIONS",
    "STORAGES",
    "ExampleSource",
    "Option",
    "Settings",
    "default_sql_dir",
    "example_source",
    "option_named",
    "settings_from",
    "shown_example_db",
]

# The harness's bookkeeping: a name of its own, so it never collides with the schema_migrations
# table a team's chain may create and update itself.
DEFAULT_MIGRATIONS_TABLE = "schema_kit_migrations"
DEFAULT_UPGRADE_ROWS = 10_000
_TABLE_NAME = r"([a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,62}"
BACKENDS = ("auto", "container", "embedded", "dsn")
STORAGES = ("auto", "ram", "disk")
# schema_kit's own Hypothesis profiles, by their short names (registered with Hypothesis as
# ``schema_kit-<name>``; see ``workload.profiles``).
HYPOTHESIS_PROFILES = ("ci", "dev", "thorough")
DEFAULT_IMAGE = "pgvector/pgvector:pg16"
LOCAL_IMAGE = "schema-kit/pgvector:pg16-local"


def default_sql_dir() -> Path:
    """The packaged migrations: inside the wheel, or the source tree's ``sql/`` when editable."""
    here = Path(__file__).resolve().parent
    packaged = here / "sql"
    if (packaged / "migrations").is_dir():
        return packaged
    return here.parent.parent / "sql"


def _text(name: str, raw: str) -> str:
    return raw


def _integer(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} must be an integer") from None


def _path(name: str, raw: str) -> Path:
    # Resolved when read, so a later chdir (a test, a subprocess' cwd) cannot move it.
    return Path(raw).expanduser().resolve()


def _path_or_none(name: str, raw: str) -> Path | None:
    return _path(name, raw) if raw else None


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _switch(name: str, raw: str) -> bool:
    word = raw.strip().lower()
    if word in _TRUE + _FALSE:
        return word in _TRUE
    raise ConfigError(f"{name}={raw!r} must be one of {', '.join(_TRUE + _FALSE)}")


def _integer_or_none(name: str, raw: str) -> int | None:
    return _integer(name, raw) if raw else None


# Where schema_kit's own properties keep their Hypothesis examples (pytest and verify alike).
DEFAULT_EXAMPLE_DIR = ".schema_kit/examples"
EXAMPLE_DB_FORMS = (
    "a directory (e.g. .schema_kit/examples)",
    "redis://[user:password@]host[:port][/N] (or rediss://; needs pip install "
    "'schema-kit[redis]')",
    "github-artifact:owner/repo[/artifact] (read-only: a CI run's examples)",
    "readonly:<one of the above> (replay from it, never write to it)",
)
_GITHUB_NAME = r"[A-Za-z0-9_.-]{1,100}"


@dataclass(frozen=True)
class ExampleSource:
    """An ``example_db`` value, parsed: ``kind`` is directory, redis or github-artifact;
    ``target`` the path, URL or ``owner/repo/artifact``. Every kind but a plain directory is
    shared, and used alongside the local default directory."""

    kind: str
    target: str
    read_only: bool = False

    @property
    def shared(self) -> bool:
        return self.kind != "directory" or self.read_only

    def __str__(self) -> str:
        if self.kind == "github-artifact":  # read-only by nature: no prefix needed
            return f"{self.kind}:{self.target}"
        return f"readonly:{self.target}" if self.read_only else self.target


def shown_example_db(raw: str) -> str:
    """An ``example_db`` value fit to print: a URL's password is never echoed."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", raw)


def _bad_example_db(raw: str, why: str) -> ConfigError:
    spec = option_named("example_db")
    return ConfigError(
        f"example_db={shown_example_db(raw)!r} {why}; accepted forms: "
        f"{'; '.join(EXAMPLE_DB_FORMS)} (set {spec.pytest_flag}, {spec.env}, or --example-db)"
    )


def _redis_source(raw: str, text: str, read_only: bool) -> ExampleSource:
    from urllib.parse import urlsplit

    url = urlsplit(text)
    try:
        port = url.port
    except ValueError:
        port = 0
    if port == 0:
        raise _bad_example_db(raw, "has a port that is not a number in 1-65535")
    if not url.hostname:
        raise _bad_example_db(raw, "names no Redis host")
    database = url.path.strip("/")
    if database and not database.isdigit():
        raise _bad_example_db(raw, f"names Redis database {database!r}, not a number N")
    return ExampleSource("redis", text, read_only)


def _source(raw: str, text: str, read_only: bool) -> ExampleSource:
    if text.startswith(("redis://", "rediss://")):
        return _redis_source(raw, text, read_only)
    if text.startswith("github-artifact:"):
        parts = text.removeprefix("github-artifact:").split("/")
        if len(parts) == 2:
            parts.append("hypothesis-example-db")  # Hypothesis' default artifact name
        if len(parts) != 3 or not all(re.fullmatch(_GITHUB_NAME, p) for p in parts):
            raise _bad_example_db(raw, "is not github-artifact:owner/repo[/artifact]")
        return ExampleSource("github-artifact", "/".join(parts), read_only=True)
    if not text:
        raise _bad_example_db(raw, "is empty")
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", text):
        # Not a path: a scheme schema_kit does not know (s3://, gh:...). A directory whose
        # name has a ':' in it is written ./name.
        raise _bad_example_db(raw, f"has an unknown scheme {text.split(':', 1)[0]!r} (a "
                              "directory with ':' in its name: write ./NAME)")
    path = Path(text).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise _bad_example_db(raw, f"is {path}, a file, not a directory")
    return ExampleSource("directory", str(path), read_only)


def example_source(raw: str) -> ExampleSource:
    """Parse an ``example_db`` value; a ConfigError names the value and the accepted forms."""
    text = raw.strip()
    read_only = text.startswith("readonly:")
    text = text.removeprefix("readonly:")
    if text.startswith("readonly:"):
        raise _bad_example_db(raw, "says readonly: twice")
    return _source(raw, text, read_only)


def _example_db(name: str, raw: str) -> str:
    return str(example_source(raw))


@dataclass(frozen=True)
class Option:
    """One setting. ``default`` is written as in an ini file or env var ("" = none);
    ``convert`` turns such text into the Settings field's type, naming the option on error."""

    name: str
    help: str
    default: str
    convert: Callable[[str, str], Any] = _text
    choices: tuple[str, ...] = ()
    # A switch: its flags take no value and mean this one (``--schema-kit-reuse``), so a
    # path after them stays a path; the ini key and env var take any value (1/0).
    bare: str = ""

    @property
    def env(self) -> str:
        return "SCHEMA_KIT_" + self.name.upper()

    @property
    def ini(self) -> str:
        return "schema_kit_" + self.name

    @property
    def pytest_flag(self) -> str:
        return "--schema-kit-" + self.name.replace("_", "-")

    @property
    def cli_flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, raw: str) -> Any:
        return self.convert(self.name, raw)

    def flag_kwargs(self) -> dict[str, Any]:
        """argparse keywords of its flags beyond the name: choices, or a switch's value."""
        if self.bare:
            return {"action": "store_const", "const": self.bare}
        return {"choices": self.choices or None}

    def describe(self, meaning: str | None = None, default: str | None = None) -> str:
        """Help text naming the env var and the default; ``meaning``/``default`` replace the
        option's own where a CLI subcommand uses it more narrowly."""
        text = meaning or self.help
        if self.choices:
            text += ": " + "|".join(self.choices)
        shown = (self.default or "none") if default is None else default
        return f"{text} (env {self.env}; default {shown})"


OPTIONS: tuple[Option, ...] = (
    Option("backend", "where PostgreSQL runs", "auto", choices=BACKENDS),
    Option("dsn", "conninfo of an existing server (backend dsn)", ""),
    Option("storage", "where a server the harness starts keeps its data: ram (a tmpfs: TMPDIR "
           "if it is one, else /dev/shm; a container's data dir a tmpfs mount), disk (TMPDIR; "
           "the container's own filesystem), auto (ram where a tmpfs has 1 GiB free, else "
           "disk; benchmark runs: disk)", "auto", choices=STORAGES),
    Option("image", "container image with PostgreSQL + pgvector", ""),
    Option("sql_dir", "directory holding migrations/ and init-postgres.sql",
           str(default_sql_dir()), _path),
    Option("vector_dim", "dimension of the VECTOR columns", "1024", _integer),
    Option("vector_suffix", "LightRAG's vector table suffix <model>_<dim>d (3.2.0; empty: "
           "plain LIGHTRAG_VDB_* names)", ""),
    Option("db_prefix", "name prefix of the scratch databases the harness creates", "schema_kit_"),
    Option("bench_rows", "rows loaded for the benchmarks (10000, 100000, 1000000, ...)", "10000",
           _integer),
    Option("upgrade_rows", "rows loaded at the seed before verify's upgrade under load "
           "(10000, 1000000, ...)", str(DEFAULT_UPGRADE_ROWS), _integer),
    Option("replay_dir", "directory for the psql replay scripts of failed invariants",
           ".schema_kit/replays", _path),
    Option("lock_timeout_ms", "the longest a migration waits for each lock, in ms (SET LOCAL "
           "lock_timeout; none: as long as it takes), so writers never queue long behind it",
           "", _integer_or_none),
    Option("lock_retries", "times a migration refused for its lock timeout (55P03) is run "
           "again, backing off", "10", _integer),
    Option("online", "apply each migration that has an online form (<version>_<name>.online.sql) "
           "by that form: the same schema, reached while writers go on", "0", _switch,
           bare="1"),
    Option("migrations_table", "the harness's own bookkeeping table, [schema.]name (never a "
           "chain's schema_migrations)", DEFAULT_MIGRATIONS_TABLE),
    Option("hypothesis_profile", "schema_kit's Hypothesis profile for its own properties "
           "(never the run's current profile)", "ci", choices=HYPOTHESIS_PROFILES),
    Option("squawk", "the squawk executable lint runs: a name looked up on PATH (then next to "
           "this Python's scripts) or a path", "squawk"),
    Option("squawk_config", "squawk config file for lint, e.g. a team's .squawk.toml (none: "
           "schema_kit's own, commands/squawk.toml)", "", _path_or_none),
    Option("example_db", "where schema_kit's properties keep and replay their Hypothesis "
           "examples: a directory, redis://host:port/N, github-artifact:owner/repo[/artifact] "
           f"or readonly:<any of these>; a shared one is used alongside {DEFAULT_EXAMPLE_DIR}",
           DEFAULT_EXAMPLE_DIR, _example_db),
    # The edit loop's: pytest only (no subcommand starts a reused server), never in CI.
    Option("reuse", "keep the embedded server and its migrated templates between pytest runs "
           "(one per xdist worker; `schema-kit clean` removes them); ignored where CI is set",
           "0", _switch, bare="1"),
    Option("reuse_dir", "where reused servers live (none: $XDG_CACHE_HOME/schema_kit/reuse, "
           "else ~/.cache/schema_kit/reuse)", "", _path_or_none),
)
_BY_NAME = {o.name: o for o in OPTIONS}


def option_named(name: str) -> Option:
    """The option called ``name``; a KeyError names the known ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no option {name!r}; options: {', '.join(_BY_NAME)}") from None


def _default(name: str) -> Callable[[], Any]:
    """A Settings field's default: the option's, parsed when a Settings is made (so sql_dir
    and replay_dir resolve against the cwd of that moment, as a value given would)."""
    spec = option_named(name)
    return lambda: spec.parse(spec.default)


@dataclass(frozen=True)
class Settings:
    """The merged options of a run: one field per option of ``OPTIONS``, defaulting to it."""

    backend: str = dataclasses.field(default_factory=_default("backend"))
    dsn: str = dataclasses.field(default_factory=_default("dsn"))
    storage: str = dataclasses.field(default_factory=_default("storage"))
    image: str = dataclasses.field(default_factory=_default("image"))
    sql_dir: Path = dataclasses.field(default_factory=_default("sql_dir"))
    vector_dim: int = dataclasses.field(default_factory=_default("vector_dim"))
    vector_suffix: str = dataclasses.field(default_factory=_default("vector_suffix"))
    db_prefix: str = dataclasses.field(default_factory=_default("db_prefix"))
    bench_rows: int = dataclasses.field(default_factory=_default("bench_rows"))
    upgrade_rows: int = dataclasses.field(default_factory=_default("upgrade_rows"))
    replay_dir: Path = dataclasses.field(default_factory=_default("replay_dir"))
    lock_timeout_ms: int | None = dataclasses.field(default_factory=_default("lock_timeout_ms"))
    lock_retries: int = dataclasses.field(default_factory=_default("lock_retries"))
    online: bool = dataclasses.field(default_factory=_default("online"))
    migrations_table: str = dataclasses.field(default_factory=_default("migrations_table"))
    hypothesis_profile: str = dataclasses.field(default_factory=_default("hypothesis_profile"))
    squawk: str = dataclasses.field(default_factory=_default("squawk"))
    squawk_config: Path | None = dataclasses.field(default_factory=_default("squawk_config"))
    example_db: str = dataclasses.field(default_factory=_default("example_db"))
    reuse: bool = dataclasses.field(default_factory=_default("reuse"))
    reuse_dir: Path | None = dataclasses.field(default_factory=_default("reuse_dir"))

    def __post_init__(self) -> None:
        for spec in OPTIONS:
            value = getattr(self, spec.name)
            if spec.choices and value not in spec.choices:
                raise ConfigError(
                    f"{spec.name}={value!r} must be one of {', '.join(spec.choices)}"
                )
        if self.backend == "dsn" and not self.dsn:
            raise ConfigError(
                "backend='dsn' needs a server: set SCHEMA_KIT_DSN, --schema-kit-dsn or --dsn "
                "(e.g. postgresql://user:pass@localhost:5432/postgres)"
            )
        if not 1 <= self.vector_dim <= 16000:
            raise ConfigError(f"vector_dim={self.vector_dim} must be between 1 and 16000")
        if not re.fullmatch(r"[a-z0-9_]{0,40}", self.vector_suffix):
            raise ConfigError(
                f"vector_suffix={self.vector_suffix!r} must be 0-40 lowercase letters, digits "
                "or '_': LightRAG's <model name>_<dim>d, e.g. text_embedding_3_large_3072d"
            )
        if not 100 <= self.bench_rows <= 100_000_000:
            raise ConfigError(f"bench_rows={self.bench_rows} must be between 100 and 100000000")
        if not 100 <= self.upgrade_rows <= 100_000_000:
            raise ConfigError(
                f"upgrade_rows={self.upgrade_rows} must be between 100 and 100000000")
        if self.lock_timeout_ms is not None and not 1 <= self.lock_timeout_ms <= 3_600_000:
            raise ConfigError(f"lock_timeout_ms={self.lock_timeout_ms} must be between 1 and "
                              "3600000 (an hour), or unset")
        if not 0 <= self.lock_retries <= 1000:
            raise ConfigError(f"lock_retries={self.lock_retries} must be between 0 and 1000")
        if not re.fullmatch(_TABLE_NAME, self.migrations_table):
            raise ConfigError(
                f"migrations_table={self.migrations_table!r} must be [schema.]name, each "
                "1-63 lowercase letters, digits or '_' not starting with a digit "
                f"(e.g. {DEFAULT_MIGRATIONS_TABLE} or schema_kit.migrations)"
            )
        prefix_ok = self.db_prefix and self.db_prefix.replace("_", "a").isalnum()
        if not prefix_ok or not self.db_prefix.islower() or len(self.db_prefix) > 30:
            raise ConfigError(
                f"db_prefix={self.db_prefix!r} must be 1-30 lowercase letters, digits or '_'"
            )

    @property
    def migration_params(self) -> dict[str, int | str]:
        """The psql variables the migrations take (``:vector_dim``, ``:'vector_suffix'``)."""
        return {"vector_dim": self.vector_dim, "vector_suffix": self.vector_suffix}


def settings_from(
    explicit: Mapping[str, str | None] | None = None,
    ini: Mapping[str, str | None] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Merge the sources of every option into a Settings (explicit > env > ini > default).

    ``ini`` is the layer below the env vars: the pytest ini file, or the defaults a CLI
    subcommand sets for itself (verify's replay dir under its report dir). An empty value
    counts as not given, as in an ini file.
    """
    explicit = explicit or {}
    ini = ini or {}
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for spec in OPTIONS:
        raw = explicit.get(spec.name)
        if raw in (None, ""):
            raw = env.get(spec.env)
        if raw in (None, ""):
            raw = ini.get(spec.name)
        if raw in (None, ""):
            continue
        assert raw is not None
        values[spec.name] = spec.parse(raw)
    return Settings(**values)
