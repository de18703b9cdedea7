"""schema_kit's Hypothesis profiles, for schema_kit's own properties only.

``ci`` (default: the whole pytest run in about a minute), ``dev`` (quicker, for the edit loop)
and ``thorough`` (release verification). They are registered with Hypothesis under namespaced
names (``schema_kit-ci``, ``schema_kit-dev``, ``schema_kit-thorough``) and never loaded:
loading one would change every Hypothesis test of the run, a project's own included (and a
bare ``ci`` is Hypothesis' built-in CI profile). Instead each of schema_kit's properties
takes ``hypothesis_settings()`` as the parent of its settings, so the run's current profile,
its settings and its example database stay whatever the project made them.

Which profile ``hypothesis_settings()`` gives without a name: the one ``choose()`` set (the
pytest plugin from the option ``hypothesis_profile``, ``schema-kit verify`` from
``--profile``), else ``SCHEMA_KIT_HYPOTHESIS_PROFILE``, else ``ci``. Its example database is
the one the option ``example_db`` names (``workload.examples``; pytest and verify alike), so
failures found once, here or on any machine sharing it, replay first.

Hypothesis is imported only when settings are asked for: the pytest plugin imports this
module in every run, and a run that uses no schema_kit property must not import Hypothesis on
its account (Hypothesis' own plugin takes care not to).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from schema_kit.config import HYPOTHESIS_PROFILES, option_named
from schema_kit.errors import ConfigError

if TYPE_CHECKING:
    from hypothesis import settings
    from hypothesis.database import ExampleDatabase

__all__ = [
    "PREFIX",
    "PROFILES",
    "STATEFUL_EXAMPLES",
    "Choice",
    "choose",
    "hypothesis_settings",
    "profile_chosen",
    "profile_name",
    "register_profiles",
    "selected",
]

PREFIX = "schema_kit-"
PROFILES: dict[str, dict[str, Any]] = {
    "ci": {"max_examples": 15, "stateful_step_count": 12},
    "dev": {"max_examples": 5, "stateful_step_count": 8},
    "thorough": {"max_examples": 300, "stateful_step_count": 25},
}
# A state-machine run is a fresh database and a dozen or more steps, each checked in full:
# it gets fewer runs than a batch property does examples.
STATEFUL_EXAMPLES = {"ci": 7, "dev": 3, "thorough": 40}
assert set(PROFILES) == set(STATEFUL_EXAMPLES) == set(HYPOTHESIS_PROFILES)


@dataclass(frozen=True)
class Choice:
    """What ``hypothesis_settings()`` gives without a name. ``example_db`` is the option's
    value (None: Hypothesis' own default database); the database is built, and a shared one
    reached, only once a property asks for its settings."""

    profile: str | None = None
    example_db: str | None = None


_choice = Choice()
_registered = False
_databases: dict[str, ExampleDatabase] = {}


def choose(choice: Choice) -> Choice:
    """Make ``choice`` the default of ``hypothesis_settings()``; returns the one it replaces,
    so the caller can put it back (a pytest session run inside another one)."""
    global _choice
    if choice.profile is not None:
        _checked(choice.profile)
    previous, _choice = _choice, choice
    return previous


@contextlib.contextmanager
def profile_chosen(name: str) -> Iterator[None]:
    """``hypothesis_settings()`` gives profile ``name`` (same example database) in the block:
    the chain checks that draw examples of their own run at the caller's profile."""
    previous = choose(Choice(name, _choice.example_db))
    try:
        yield
    finally:
        choose(previous)


def _checked(name: str) -> str:
    if name not in PROFILES:
        spec = option_named("hypothesis_profile")
        raise ConfigError(
            f"hypothesis_profile={name!r} must be one of {', '.join(PROFILES)} (schema_kit's "
            f"profiles: pass --schema-kit-hypothesis-profile, set {spec.env}, or use "
            "`schema-kit verify --profile`)"
        )
    return name


def selected() -> str:
    """The short name of the profile in use: chosen, else the env var, else ``ci``."""
    spec = option_named("hypothesis_profile")
    return _checked(_choice.profile or os.environ.get(spec.env) or spec.default)


def profile_name(name: str) -> str:
    """The name Hypothesis knows the profile by: ``ci`` -> ``schema_kit-ci``."""
    return PREFIX + _checked(name)


def register_profiles() -> None:
    """Register ``schema_kit-ci``, ``-dev`` and ``-thorough`` with Hypothesis, once; never
    loads one. Their parent is Hypothesis' built-in ``default`` profile, not the run's
    current one, so schema_kit's properties run alike under ``pytest`` and ``verify``."""
    global _registered
    if _registered:
        return
    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings

    base = hypothesis_settings.get_profile("default")
    for name, values in PROFILES.items():
        # Examples are whole batches over a real server: slow per example, so no deadline,
        # and the "too slow" health check would only measure the machine.
        hypothesis_settings.register_profile(
            PREFIX + name, base, deadline=None, suppress_health_check=[HealthCheck.too_slow],
            **values,
        )
    _registered = True


def _database() -> ExampleDatabase | None:
    value = _choice.example_db
    if value is None:
        return None
    if value not in _databases:
        from schema_kit.workload.examples import example_database

        _databases[value] = example_database(value)
    return _databases[value]


def hypothesis_settings(name: str | None = None, *, stateful: bool = False) -> settings:
    """The settings of schema_kit profile ``name`` (default: ``selected()``), with its example
    database: the parent for every schema_kit property, ``settings(hypothesis_settings(),
    ...)``. ``stateful=True``: as many runs as a state machine gets under that profile."""
    from hypothesis import settings as hypothesis_settings

    register_profiles()
    short = _checked(name) if name else selected()
    overrides: dict[str, Any] = {}
    if stateful:
        overrides["max_examples"] = STATEFUL_EXAMPLES[short]
    database = _database()
    if database is not None:
        overrides["database"] = database
    return hypothesis_settings(hypothesis_settings.get_profile(PREFIX + short), **overrides)
