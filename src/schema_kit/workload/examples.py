"""The example database of schema_kit's own properties, from the option ``example_db``.

A plain directory is the whole database. A shared source (Redis, a GitHub artifact, any form
under ``readonly:``) is composed with the local default directory as
``MultiplexedDatabase(local, shared)``: every run replays first what any run saved in either,
and saves to both, except to a read-only source (wrapped in ``ReadOnlyDatabase``), so a
failure one machine found is the first example every other machine tries.

Each property reads and writes under a key of its own (``Scoped``): Hypothesis keys a test
by its source, and verify's properties share one function, so without a scope a failure of
one check would be replayed to every other check first.

This module imports Hypothesis: ``profiles`` (which the pytest plugin imports in every run)
imports it only when a property first asks for its settings. redis is imported only for a
redis:// value.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    ExampleDatabase,
    GitHubArtifactDatabase,
    MultiplexedDatabase,
    ReadOnlyDatabase,
)

from schema_kit.config import (
    DEFAULT_EXAMPLE_DIR,
    ExampleSource,
    example_source,
    shown_example_db,
)
from schema_kit.errors import ConfigError

__all__ = ["REDIS_PREFIX", "Scoped", "example_database"]

# A project may keep its own Hypothesis examples in the same Redis: ours never mix with them.
REDIS_PREFIX = b"schema_kit-example:"
# Hypothesis' default: examples a property has not touched for a week of runs expire.
REDIS_EXPIRY = timedelta(days=8)


def _redis(source: ExampleSource, raw: str) -> ExampleDatabase:
    shown = shown_example_db(raw)
    try:
        import redis
        from hypothesis.extra.redis import RedisExampleDatabase
    except ImportError:
        raise ConfigError(
            f"example_db={shown!r} needs the redis package: pip install 'schema-kit[redis]'"
        ) from None
    client = redis.Redis.from_url(source.target, socket_connect_timeout=5)
    try:
        client.ping()  # an unreachable server is one clear error now, not one per example
    except redis.RedisError as exc:
        client.close()
        raise ConfigError(
            f"example_db={shown!r}: cannot reach Redis ({exc}); start the server or "
            "correct the URL (redis://host:port/N)"
        ) from None
    return RedisExampleDatabase(client, expire_after=REDIS_EXPIRY, key_prefix=REDIS_PREFIX)


def _github(source: ExampleSource, local: Path) -> ExampleDatabase:
    owner, repo, artifact = source.target.split("/")
    # Its download cache lives beside our local examples, not in the cwd's .hypothesis/.
    return GitHubArtifactDatabase(owner, repo, artifact_name=artifact,
                                  path=local / "github-artifacts" / artifact)


def example_database(raw: str, local: Path | None = None) -> ExampleDatabase:
    """The database an ``example_db`` value names; ``local`` (default: the option's default
    directory, under the cwd) is used alongside a shared one."""
    source = example_source(raw)
    if not source.shared:
        return DirectoryBasedExampleDatabase(source.target)
    local = (local or Path(DEFAULT_EXAMPLE_DIR)).resolve()
    shared: ExampleDatabase
    if source.kind == "redis":
        shared = _redis(source, raw)
    elif source.kind == "github-artifact":
        shared = _github(source, local)
    else:
        shared = DirectoryBasedExampleDatabase(source.target)
    if source.read_only:
        shared = ReadOnlyDatabase(shared)
    return MultiplexedDatabase(DirectoryBasedExampleDatabase(local), shared)


class Scoped(ExampleDatabase):
    """``database`` with every key prefixed by ``scope`` (a check and its version)."""

    def __init__(self, database: ExampleDatabase, scope: str) -> None:
        super().__init__()
        self.database, self.scope = database, scope
        self._prefix = scope.encode() + b":"

    def __repr__(self) -> str:
        return f"Scoped({self.database!r}, {self.scope!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Scoped) and self.scope == other.scope
                and self.database == other.database)

    def __hash__(self) -> int:
        return hash(self.scope)

    def fetch(self, key: bytes) -> Iterable[bytes]:
        return self.database.fetch(self._prefix + key)

    def save(self, key: bytes, value: bytes) -> None:
        self.database.save(self._prefix + key, value)

    def delete(self, key: bytes, value: bytes) -> None:
        self.database.delete(self._prefix + key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self.database.move(self._prefix + src, self._prefix + dest, value)
