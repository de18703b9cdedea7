from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from schema_kit import cli
from schema_kit.config import OPTIONS, Settings, default_sql_dir, settings_from
from schema_kit.errors import ConfigError, SchemaKitError

# What the child pytest reports: every Settings field of its session, as text.
_DUMP_TEST = """
import dataclasses, json, os
from pathlib import Path


def test_dump(schema_kit_settings):
    fields = dataclasses.fields(schema_kit_settings)
    values = {f.name: str(getattr(schema_kit_settings, f.name)) for f in fields}
    Path(os.environ["SETTINGS_DUMP"]).write_text(json.dumps(values))
"""
# Options no subcommand takes: only the pytest benchmarks read bench_rows, and only pytest
# runs reuse a server (the edit loop's; `clean` takes reuse_dir).
_PYTEST_ONLY = {"bench_rows", "reuse"}
# Arguments a subcommand needs besides its options, to parse at all.
_REQUIRED = {"rollback": ["--to", "base"]}


def _samples(tmp_path: Path) -> dict[str, tuple[str, object]]:
    """For every option, a value unlike its default: as written, and as Settings holds it."""
    sql_dir, replays = tmp_path / "chain", tmp_path / "replays"
    return {
        "backend": ("embedded", "embedded"),
        "dsn": ("postgresql://someone@db.example:5433/x", "postgresql://someone@db.example:5433/x"),
        "image": ("example/pg:1", "example/pg:1"),
        "storage": ("disk", "disk"),
        "sql_dir": (str(sql_dir), sql_dir.resolve()),
        "vector_dim": ("8", 8),
        "vector_suffix": ("model_8d", "model_8d"),
        "db_prefix": ("sk_", "sk_"),
        "bench_rows": ("500", 500),
        "upgrade_rows": ("2000", 2000),
        "replay_dir": (str(replays), replays.resolve()),
        "lock_timeout_ms": ("250", 250),
        "lock_retries": ("3", 3),
        "migrations_table": ("ops.applied", "ops.applied"),
        "hypothesis_profile": ("dev", "dev"),
        "squawk": ("/opt/squawk/bin/squawk", "/opt/squawk/bin/squawk"),
        "squawk_config": (str(tmp_path / "team.toml"), (tmp_path / "team.toml").resolve()),
        "example_db": ("redis://cache.example:6380/2", "redis://cache.example:6380/2"),
        "reuse": ("yes", True),
        "online": ("yes", True),
        "reuse_dir": (str(tmp_path / "reuse"), (tmp_path / "reuse").resolve()),
    }


def _child_settings(tmp_path: Path, ini: dict[str, str], flags: list[str]) -> dict[str, str]:
    """The settings a child pytest session gets from an ini file and flags, with no
    SCHEMA_KIT_* variable in its environment; --strict-config makes an unregistered ini key
    an error. The test asks for ``schema_kit_settings`` only, so no server starts."""
    root = tmp_path / f"child{len(list(tmp_path.glob('child*')))}"
    root.mkdir()
    lines = ["[pytest]", *(f"{key} = {value}" for key, value in ini.items())]
    (root / "pytest.ini").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "test_dump.py").write_text(_DUMP_TEST, encoding="utf-8")
    dump = root / "settings.json"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SCHEMA_KIT_", "PYTEST_XDIST_", "PYTEST_CURRENT_TEST"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
         "--strict-config", "-q", "-c", str(root / "pytest.ini"),
         "--rootdir", str(root), *flags, str(root / "test_dump.py")],
        cwd=root, env={**env, "SETTINGS_DUMP": str(dump)}, capture_output=True, text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    values: dict[str, str] = json.loads(dump.read_text())
    return values


def test_every_option_works_under_all_four_names(tmp_path: Path) -> None:
    samples = _samples(tmp_path)
    assert set(samples) == {o.name for o in OPTIONS}, "give a new option a sample value"
    expected = {o.name: str(samples[o.name][1]) for o in OPTIONS}
    for o in OPTIONS:
        assert expected[o.name] != str(getattr(Settings(), o.name)), f"{o.name}: not a default"

    # The pytest ini key and the pytest flag, each alone, in a real child session.
    via_ini = _child_settings(tmp_path, {o.ini: samples[o.name][0] for o in OPTIONS}, [])
    assert {o.name: via_ini[o.name] for o in OPTIONS} == expected
    # A switch's flag takes no value: its bare meaning is the sample's.
    assert all(o.parse(o.bare) == samples[o.name][1] for o in OPTIONS if o.bare)
    flags = [o.pytest_flag if o.bare else f"{o.pytest_flag}={samples[o.name][0]}"
             for o in OPTIONS]
    via_flags = _child_settings(tmp_path, {}, flags)
    assert {o.name: via_flags[o.name] for o in OPTIONS} == expected

    parser = cli._parser()
    for o in OPTIONS:
        raw, value = samples[o.name]
        # The env var.
        assert getattr(settings_from({}, {}, {o.env: raw}), o.name) == value, o.env
        # The CLI flag, on every subcommand that takes the option.
        commands = [c for c, uses in cli._OPTIONS.items()
                    if o.name in (u if isinstance(u, str) else u.name for u in uses)]
        if o.name in _PYTEST_ONLY:
            assert commands == [], f"{o.name} is pytest-only, yet {commands} take it"
            continue
        assert commands, f"no subcommand takes {o.cli_flag}"
        for command in commands:
            given = [o.cli_flag] if o.bare else [o.cli_flag, raw]  # a switch takes no value
            args = parser.parse_args([command, *_REQUIRED.get(command, []), *given])
            settings = cli._settings(args)
            assert getattr(settings, o.name) == value, f"{command} {o.cli_flag}"


def test_an_unknown_cli_flag_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli._parser().parse_args(["migrate", "--bench-rows", "500"])
    assert info.value.code == 2
    assert "unrecognized arguments: --bench-rows 500" in capsys.readouterr().err


def test_settings_defaults_are_the_options_defaults() -> None:
    defaults = Settings()
    for o in OPTIONS:
        assert getattr(defaults, o.name) == o.parse(o.default), o.name
    assert defaults.sql_dir == default_sql_dir().resolve()
    assert defaults.replay_dir == Path(".schema_kit/replays").resolve()
    assert defaults.example_db == str(Path(".schema_kit/examples").resolve())
    assert {f.name for f in dataclasses.fields(Settings)} == {o.name for o in OPTIONS}


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
        ({"bench_rows": "many"}, "bench_rows='many' must be an integer"),
        ({"db_prefix": "Bad-Prefix"}, "db_prefix='Bad-Prefix' must be"),
        ({"backend": "dsn"}, "backend='dsn' needs a server: set SCHEMA_KIT_DSN"),
        ({"hypothesis_profile": "schema_kit-ci"},
         "hypothesis_profile='schema_kit-ci' must be one of ci, dev, thorough"),
        ({"example_db": "s3://bucket/examples"},
         "example_db='s3://bucket/examples' has an unknown scheme 's3'"),
        ({"example_db": "redis://:6379/0"}, "example_db='redis://:6379/0' names no Redis host"),
        ({"example_db": "redis://u:secret@h:99999/0"},
         "example_db='redis://u:***@h:99999/0' has a port that is not a number in 1-65535"),
        ({"example_db": "redis://h/cache"}, "names Redis database 'cache', not a number N"),
        ({"example_db": "github-artifact:owner"},
         "example_db='github-artifact:owner' is not github-artifact:owner/repo[/artifact]"),
        ({"example_db": "readonly:readonly:/x"}, "says readonly: twice"),
    ],
)
def test_bad_values_name_the_option_and_value(values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from(values, {}, {})
    assert message in str(info.value)
    assert isinstance(info.value, SchemaKitError)
    if "example_db" in values:  # the accepted forms are the remedy
        assert "accepted forms: a directory" in str(info.value)
        assert "redis://[user:password@]host[:port][/N]" in str(info.value)
        assert "secret" not in str(info.value)


def test_settings_are_frozen() -> None:
    settings = Settings(sql_dir=Path("/x"))
    with pytest.raises(AttributeError):
        settings.backend = "dsn"  # type: ignore[misc]
