"""pytest plugin (entry point ``pytest11``): options, the session server, database fixtures.

Each option is an ini key, a flag and an env var under one name (see ``config.OPTIONS``).
Fixtures: ``schema_kit_settings``, ``schema_kit_harness``, ``schema_kit_server``,
``schema_kit_db`` (a fresh clone of the head template per test), ``schema_kit_db_factory``
(a fresh database at any version) and ``schema_kit_conn`` (a connection to ``schema_kit_db``).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
import pytest

from schema_kit.config import OPTIONS, Settings, settings_from
from schema_kit.db.databases import Database
from schema_kit.db.harness import Harness
from schema_kit.errors import SchemaKitError
from schema_kit.provision import Server
from schema_kit.workload.profiles import Choice, choose, profile_name

__all__ = [
    "schema_kit_conn",
    "schema_kit_db",
    "schema_kit_db_factory",
    "schema_kit_harness",
    "schema_kit_server",
    "schema_kit_settings",
]

_HARNESS = pytest.StashKey[Harness]()
_SETTINGS = pytest.StashKey[Settings]()
_OLD_SIGTERM = pytest.StashKey[Any]()
_OLD_CHOICE = pytest.StashKey[Choice]()
_WORKER_SERVERS = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("schema_kit", "schema_kit: multi-tenant schema invariants")
    for option in OPTIONS:
        text = option.describe()
        parser.addini(option.ini, text, default=None)
        group.addoption(option.pytest_flag, dest=option.ini, default=None, help=text,
                        choices=option.choices or None)


def _is_xdist_controller(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(
        config, "workerinput"
    )


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    # A SIGTERM (CI timeout, `kill`) must unwind like Ctrl-C so fixtures stop their servers.
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    explicit = {o.name: config.getoption(o.ini) for o in OPTIONS}
    ini = {o.name: config.getini(o.ini) for o in OPTIONS}
    try:
        settings = settings_from(explicit, ini)
    except SchemaKitError as exc:
        raise pytest.UsageError(f"schema_kit: {exc}") from None
    config.stash[_SETTINGS] = settings
    # schema_kit's properties read this choice; Hypothesis' own profile stays the run's.
    config.stash[_OLD_CHOICE] = choose(
        Choice(settings.hypothesis_profile, lambda: _example_dir(config))
    )
    worker = getattr(config, "workerinput", {}).get("workerid", "m")
    progress = None if config.option.verbose < 1 else _progress
    config.stash[_HARNESS] = Harness(settings, tag=f"{worker}{os.getpid()}", progress=progress)
    if threading.current_thread() is threading.main_thread():
        config.stash[_OLD_SIGTERM] = signal.signal(signal.SIGTERM, _raise_interrupt)


def _example_dir(config: pytest.Config) -> Path:
    """Where schema_kit's properties keep their Hypothesis examples: the pytest cache dir."""
    cache = getattr(config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("schema_kit_hypothesis"))
    return config.rootpath / ".pytest_cache" / "schema_kit_hypothesis"


def _progress(message: str) -> None:
    sys.stderr.write(f"schema_kit: {message}\n")


def pytest_unconfigure(config: pytest.Config) -> None:
    harness = config.stash.get(_HARNESS, None)
    if harness is not None:
        harness.close()
    old = config.stash.get(_OLD_SIGTERM, None)
    if old is not None:
        signal.signal(signal.SIGTERM, old)
    if _OLD_CHOICE in config.stash:
        choose(config.stash[_OLD_CHOICE])


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash[_SETTINGS]
    harness = config.stash[_HARNESS]
    where = (
        f"sql_dir={settings.sql_dir}, vector_dim={settings.vector_dim}, "
        f"hypothesis profile={profile_name(settings.hypothesis_profile)}"
    )
    if _is_xdist_controller(config):
        # Each worker's server is named in the terminal summary, once the workers report it.
        return [f"schema_kit: backend={settings.backend} (a server per worker), {where}"]
    try:
        harness.server  # noqa: B018 - starts the server so the header can name it
    except SchemaKitError as exc:
        return [f"schema_kit: backend={settings.backend}: no server: {exc}"]
    return [f"schema_kit: {harness.describe()}", f"schema_kit: {where}"]


def pytest_sessionfinish(session: pytest.Session) -> None:
    # On an xdist worker: hand the controller a line naming this worker's server.
    output = getattr(session.config, "workeroutput", None)
    harness = session.config.stash.get(_HARNESS, None)
    described = harness.describe() if harness is not None else None
    if output is not None and described is not None:
        output["schema_kit_server"] = described


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    described = getattr(node, "workeroutput", {}).get("schema_kit_server")
    if described:
        node.config.stash.setdefault(_WORKER_SERVERS, []).append(
            f"{node.workerinput['workerid']}: {described}"
        )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines: list[str] = config.stash.get(_WORKER_SERVERS, [])
    for line in sorted(lines):
        terminalreporter.write_line(f"schema_kit: {line}")


@pytest.fixture(scope="session")
def schema_kit_settings(pytestconfig: pytest.Config) -> Settings:
    """The merged settings of this run."""
    return pytestconfig.stash[_SETTINGS]


@pytest.fixture(scope="session")
def schema_kit_harness(pytestconfig: pytest.Config) -> Harness:
    """The session's harness: server, scratch databases, templates."""
    return pytestconfig.stash[_HARNESS]


@pytest.fixture(scope="session")
def schema_kit_server(schema_kit_harness: Harness) -> Server:
    """The running server of this session (started once, stopped at the end)."""
    return schema_kit_harness.server


@pytest.fixture
def schema_kit_db_factory(schema_kit_harness: Harness) -> Iterator[Callable[..., Database]]:
    """Make fresh databases at any version (``"head"``, ``"3.0.0"``, ``None`` for empty)."""
    made: list[Database] = []

    def make(version: str | None = "head") -> Database:
        db = schema_kit_harness.database(version)
        made.append(db)
        return db

    yield make
    for db in made:
        schema_kit_harness.scratch.drop(db.name)


@pytest.fixture
def schema_kit_db(schema_kit_db_factory: Callable[..., Database]) -> Database:
    """A fresh database at head, cloned from the session's migrated template."""
    return schema_kit_db_factory("head")


@pytest.fixture
def schema_kit_conn(schema_kit_db: Database) -> Iterator[psycopg.Connection[Any]]:
    """A connection (not autocommit) to ``schema_kit_db``."""
    with schema_kit_db.connect() as conn:
        yield conn
