from __future__ import annotations

from pathlib import Path

import pytest

from schema_kit.config import OPTIONS, Settings, default_sql_dir, settings_from
from schema_kit.errors import ConfigError, SchemaKitError


def test_every_option_has_one_name_in_all_three_places() -> None:
    for option in OPTIONS:
        stem = option.name
        assert option.env == "SCHEMA_KIT_" + stem.upper()
        assert option.ini == "schema_kit_" + stem
        assert option.pytest_flag == "--schema-kit-" + stem.replace("_", "-")


def test_precedence_is_explicit_then_env_then_ini() -> None:
    env = {"SCHEMA_KIT_BACKEND": "embedded", "SCHEMA_KIT_VECTOR_DIM": "8"}
    ini = {"backend": "container", "vector_dim": "16", "db_prefix": "sk_"}
    settings = settings_from({"backend": "dsn", "dsn": "postgresql://x/y"}, ini, env)
    assert settings.backend == "dsn"
    assert settings.vector_dim == 8
    assert settings.db_prefix == "sk_"
    assert settings_from({}, ini, env).backend == "embedded"
    assert settings_from({}, ini, {}).backend == "container"
    assert settings_from({}, {}, {}) == Settings()


def test_default_sql_dir_holds_the_packaged_migrations() -> None:
    assert (default_sql_dir() / "migrations").is_dir()
    assert (default_sql_dir() / "init-postgres.sql").is_file()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"backend": "docker"}, "backend='docker' must be one of auto, container, embedded, dsn"),
        ({"vector_dim": "0"}, "vector_dim=0 must be between 1 and 16000"),
        ({"vector_dim": "ten"}, "vector_dim='ten' must be an integer"),
        ({"db_prefix": "Bad-Prefix"}, "db_prefix='Bad-Prefix' must be"),
        ({"backend": "dsn"}, "backend='dsn' needs a server: set SCHEMA_KIT_DSN"),
    ],
)
def test_bad_values_name_the_option_and_value(values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from(values, {}, {})
    assert message in str(info.value)
    assert isinstance(info.value, SchemaKitError)


def test_settings_are_frozen() -> None:
    settings = Settings(sql_dir=Path("/x"))
    with pytest.raises(AttributeError):
        settings.backend = "dsn"  # type: ignore[misc]
