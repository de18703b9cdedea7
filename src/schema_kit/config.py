"""Settings: one frozen dataclass, every option under one name as ini key, CLI flag and env var.

An option called ``backend`` is the pytest ini key ``schema_kit_backend``, the pytest flag
``--schema-kit-backend``, the CLI flag ``--backend`` and the env var ``SCHEMA_KIT_BACKEND``.
Precedence: CLI flag > env var > ini key > default.
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

__all__ = ["BACKENDS", "OPTIONS", "Option", "Settings", "default_sql_dir", "settings_from"]

BACKENDS = ("auto", "container", "embedded", "dsn")
DEFAULT_IMAGE = "pgvector/pgvector:pg16"
LOCAL_IMAGE = "schema-kit/pgvector:pg16-local"


def default_sql_dir() -> Path:
    """The packaged migrations: inside the wheel, or the source tree's ``sql/`` when editable."""
    here = Path(__file__).resolve().parent
    packaged = here / "sql"
    if (packaged / "migrations").is_dir():
        return packaged
    return here.parent.parent / "sql"


@dataclass(frozen=True)
class Option:
    name: str
    help: str
    default: str

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


OPTIONS: tuple[Option, ...] = (
    Option("backend", "where PostgreSQL runs: " + "|".join(BACKENDS), "auto"),
    Option("dsn", "conninfo of an existing server (backend dsn)", ""),
    Option("image", "container image with PostgreSQL + pgvector", ""),
    Option("sql_dir", "directory holding migrations/ and init-postgres.sql", ""),
    Option("vector_dim", "dimension of the VECTOR columns", "1024"),
    Option("vector_suffix", "LightRAG's vector table suffix <model>_<dim>d (3.2.0; empty: "
           "plain LIGHTRAG_VDB_* names)", ""),
    Option("db_prefix", "name prefix of the scratch databases the harness creates", "schema_kit_"),
    Option("bench_rows", "rows loaded for the benchmarks (10000, 100000, 1000000, ...)", "10000"),
)


def _positive_int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} must be an integer") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} must be between {low} and {high}")
    return value


@dataclass(frozen=True)
class Settings:
    backend: str = "auto"
    dsn: str = ""
    image: str = ""
    sql_dir: Path = dataclasses.field(default_factory=default_sql_dir)
    vector_dim: int = 1024
    vector_suffix: str = ""
    db_prefix: str = "schema_kit_"
    bench_rows: int = 10_000

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(
                f"backend={self.backend!r} must be one of {', '.join(BACKENDS)}"
            )
        if self.backend == "dsn" and not self.dsn:
            raise ConfigError(
                "backend='dsn' needs a server: set SCHEMA_KIT_DSN or --schema-kit-dsn "
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
        prefix_ok = self.db_prefix and self.db_prefix.replace("_", "a").isalnum()
        if not prefix_ok or not self.db_prefix.islower() or len(self.db_prefix) > 30:
            raise ConfigError(
                f"db_prefix={self.db_prefix!r} must be 1-30 lowercase letters, digits or '_'"
            )

    @property
    def migration_params(self) -> dict[str, int | str]:
        """The psql variables the migrations take (``:vector_dim``, ``:'vector_suffix'``)."""
        return {"vector_dim": self.vector_dim, "vector_suffix": self.vector_suffix}


_CONVERT: dict[str, Callable[[str], Any]] = {
    "sql_dir": lambda raw: Path(raw).expanduser().resolve(),
    "vector_dim": lambda raw: _positive_int("vector_dim", raw, 1, 16000),
    "bench_rows": lambda raw: _positive_int("bench_rows", raw, 100, 100_000_000),
}


def settings_from(
    explicit: Mapping[str, str | None] | None = None,
    ini: Mapping[str, str | None] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Merge the sources of every option into a Settings (explicit > env > ini > default)."""
    explicit = explicit or {}
    ini = ini or {}
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for option in OPTIONS:
        raw = explicit.get(option.name)
        if raw in (None, ""):
            raw = env.get(option.env)
        if raw in (None, ""):
            raw = ini.get(option.name)
        if raw in (None, ""):
            continue
        assert raw is not None
        values[option.name] = _CONVERT.get(option.name, str)(raw)
    return Settings(**values)
