"""schema_kit's Hypothesis profiles: namespaced, never loaded, chosen by the option
``hypothesis_profile``, and the example counts the suite has always run with under ``ci``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

from schema_kit.errors import ConfigError
from schema_kit.workload import profiles


@pytest.fixture
def clean_choice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No choice and no env var, whatever this session chose; the session's comes back."""
    monkeypatch.delenv("SCHEMA_KIT_HYPOTHESIS_PROFILE", raising=False)
    previous = profiles.choose(profiles.Choice())
    try:
        yield
    finally:
        profiles.choose(previous)


def test_the_ci_profile_keeps_the_suites_example_counts() -> None:
    ci = profiles.hypothesis_settings("ci")
    assert (ci.max_examples, ci.stateful_step_count, ci.deadline) == (15, 12, None)
    stateful = profiles.hypothesis_settings("ci", stateful=True)
    assert (stateful.max_examples, stateful.stateful_step_count) == (7, 12)
    assert profiles.hypothesis_settings("dev").max_examples == 5
    assert profiles.hypothesis_settings("thorough", stateful=True).max_examples == 40


def test_profiles_are_namespaced_and_never_loaded() -> None:
    current, default = settings.get_current_profile_name(), settings.default
    profiles.hypothesis_settings("thorough")
    assert settings.get_current_profile_name() == current
    assert settings.default is default
    for name in ("ci", "dev", "thorough"):
        assert settings.get_profile(f"schema_kit-{name}").max_examples == (
            profiles.PROFILES[name]["max_examples"]
        )
    # Hypothesis' own `ci` profile (loaded by Hypothesis on CI machines) is Hypothesis' still.
    assert settings.get_profile("ci").max_examples != 15
    assert settings.get_profile("ci").derandomize


def test_the_choice_then_the_env_var_then_ci(
    clean_choice: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert profiles.selected() == "ci"
    monkeypatch.setenv("SCHEMA_KIT_HYPOTHESIS_PROFILE", "dev")
    assert profiles.selected() == "dev"
    assert profiles.hypothesis_settings().max_examples == 5
    profiles.choose(profiles.Choice("thorough", str(tmp_path / "examples")))
    chosen = profiles.hypothesis_settings()
    assert chosen.max_examples == 300
    assert isinstance(chosen.database, DirectoryBasedExampleDatabase)
    assert chosen.database.path == tmp_path / "examples"
    assert not (tmp_path / "examples").exists()  # made by Hypothesis when it saves one


def test_an_unknown_profile_names_the_option_and_the_choices(clean_choice: None) -> None:
    with pytest.raises(ConfigError) as info:
        profiles.hypothesis_settings("schema_kit-ci")
    message = str(info.value)
    assert "hypothesis_profile='schema_kit-ci' must be one of ci, dev, thorough" in message
    assert "SCHEMA_KIT_HYPOTHESIS_PROFILE" in message
    with pytest.raises(ConfigError):
        profiles.choose(profiles.Choice("quick"))
