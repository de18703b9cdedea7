"""pytest plugin (entry point ``pytest11``): options, the session server, database fixtures.

Each option is an ini key, a flag and an env var under one name (see ``config.OPTIONS``).
Fixtures: ``schema_kit_settings``, ``schema_kit_harness``, ``schema_kit_server``,
``schema_kit_db`` (a fresh clone of the head template per test), ``schema_kit_db_factory``
(a fresh database at any version) and ``schema_kit_conn`` (a connection to ``schema_kit_db``).

The plugin is a guest in every pytest run of the environment it is installed in, most of
which are not about schema_kit. Until a schema_kit fixture (or the harness) first needs a
server it only adds and reads its options: it starts nothing, prints nothing, installs no
signal handler, imports neither psycopg nor Hypothesis, and never loads a Hypothesis profile
or touches the run's Hypothesis settings or example database (schema_kit's own properties
take theirs explicitly, from ``workload.profiles.hypothesis_settings``). When a server
starts, the plugin names it in one line (under xdist: one per worker, in the summary) and
installs a SIGTERM handler so that a CI timeout still stops it.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

import pytest

from schema_kit.config import OPTIONS, Settings, settings_from, shown_example_db
from schema_kit.errors import SchemaKitError
from schema_kit.workload.profiles import Choice, choose, profile_name

if TYPE_CHECKING:
    import psycopg

    from schema_kit.db.databases import Database
    from schema_kit.db.harness import Harness
    from schema_kit.provision import Server

__all__ = [
    "schema_kit_conn",
    "schema_kit_db",
    "schema_kit_db_factory",
    "schema_kit_harness",
    "schema_kit_server",
    "schema_kit_settings",
]

_HARNESS = pytest.StashKey["Harness"]()
_SETTINGS = pytest.StashKey[Settings]()
_OLD_SIGTERM = pytest.StashKey[Any]()
_OLD_CHOICE = pytest.StashKey[Choice]()
_WORKER_SERVERS = pytest.StashKey[list[str]]()
_PENDING = pytest.StashKey[list[str]]()  # the lines naming the server, until said


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("schema_kit", "schema_kit: multi-tenant schema invariants")
    for option in OPTIONS:
        text = option.describe()
        parser.addini(option.ini, text, default=None)
        group.addoption(option.pytest_flag, dest=option.ini, default=None, help=text,
                        **option.flag_kwargs())


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
    if settings.storage == "auto" and config.getoption("benchmark_only", default=False):
        # A benchmark measures what a server on a disk does; the suite's RAM would flatter it.
        settings = dataclasses.replace(settings, storage="disk")
    config.stash[_SETTINGS] = settings
    # schema_kit's properties read this choice (their profile and example database);
    # Hypothesis' own profile and database stay the run's.
    config.stash[_OLD_CHOICE] = choose(Choice(settings.hypothesis_profile, settings.example_db))


def _harness(config: pytest.Config) -> Harness:
    """The session's harness, made when a fixture first asks for it; it starts its server
    only when that is first used."""
    harness = config.stash.get(_HARNESS, None)
    if harness is None:
        from schema_kit.db.harness import Harness

        worker = getattr(config, "workerinput", {}).get("workerid", "m")
        progress = None if config.option.verbose < 1 else _progress
        settings = config.stash[_SETTINGS]
        # With reuse, each xdist worker owns the kept server of its own slot, as it has a
        # server of its own without reuse; a run without workers owns the slot `main`.
        slot = (worker if worker != "m" else "main") if settings.reuse else None
        harness = Harness(
            settings, tag=f"{worker}{os.getpid()}", progress=progress,
            on_start=lambda: _server_starting(config),
            on_started=lambda line: _server_started(config, line), reuse_slot=slot,
        )
        config.stash[_HARNESS] = harness
    return harness


def _progress(message: str) -> None:
    sys.stderr.write(f"schema_kit: {message}\n")


def _server_starting(config: pytest.Config) -> None:
    # Only a run that starts a server needs SIGTERM to unwind through the fixtures; only the
    # main thread may install a handler.
    if _OLD_SIGTERM in config.stash or threading.current_thread() is not threading.main_thread():
        return
    config.stash[_OLD_SIGTERM] = signal.signal(signal.SIGTERM, _raise_interrupt)


def _server_started(config: pytest.Config, described: str) -> None:
    """Name the server once it started, after the test whose fixture started it has
    reported (``pytest_runtest_logfinish``), so the line does not split that test's progress
    output. An xdist worker has no terminal of its own: it hands its line to the controller
    at the end of its session (``pytest_sessionfinish``)."""
    if hasattr(config, "workerinput"):
        return
    settings = config.stash[_SETTINGS]
    config.stash[_PENDING] = [
        f"schema_kit: {described}",
        f"schema_kit: sql_dir={settings.sql_dir}, vector_dim={settings.vector_dim}, "
        f"hypothesis profile={profile_name(settings.hypothesis_profile)}, "
        f"example_db={shown_example_db(settings.example_db)}",
    ]


def _say_pending(config: pytest.Config) -> None:
    lines = config.stash.get(_PENDING, [])
    reporter: Any = config.pluginmanager.get_plugin("terminalreporter")
    if not lines or reporter is None:
        return
    config.stash[_PENDING] = []
    for line in lines:
        reporter.write_line(line)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[Any]:
    # After the test's last report, outside its output capture.
    try:
        return (yield)
    finally:
        _say_pending(item.config)


def pytest_unconfigure(config: pytest.Config) -> None:
    harness = config.stash.get(_HARNESS, None)
    if harness is not None:
        harness.close()
    if _OLD_SIGTERM in config.stash:
        signal.signal(signal.SIGTERM, config.stash[_OLD_SIGTERM])
        del config.stash[_OLD_SIGTERM]
    if _OLD_CHOICE in config.stash:
        choose(config.stash[_OLD_CHOICE])


def pytest_sessionfinish(session: pytest.Session) -> None:
    # On an xdist worker: hand the controller a line naming this worker's server, if any.
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
    _say_pending(config)  # a session interrupted before its test reported
    lines: list[str] = config.stash.get(_WORKER_SERVERS, [])
    for line in sorted(lines):
        terminalreporter.write_line(f"schema_kit: {line}")


@pytest.fixture(scope="session")
def schema_kit_settings(pytestconfig: pytest.Config) -> Settings:
    """The merged settings of this run (starts nothing)."""
    return pytestconfig.stash[_SETTINGS]


@pytest.fixture(scope="session")
def schema_kit_harness(pytestconfig: pytest.Config) -> Harness:
    """The session's harness: server, scratch databases, templates (the server starts when
    one of them is first used)."""
    return _harness(pytestconfig)


@pytest.fixture(scope="session")
def schema_kit_server(schema_kit_harness: Harness) -> Server:
    """The running server of this session (started once, stopped at the end unless
    ``--schema-kit-reuse`` keeps it)."""
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
