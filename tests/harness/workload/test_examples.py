"""The option ``example_db`` as Hypothesis databases: a directory alone, a shared source
beside the local directory (read-only where it says so), one key per property, and a real
Redis shared by two databases as two machines would share it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    GitHubArtifactDatabase,
    MultiplexedDatabase,
    ReadOnlyDatabase,
)

from schema_kit.errors import ConfigError
from schema_kit.workload.examples import REDIS_PREFIX, Scoped, example_database


def _parts(database: object) -> list[object]:
    assert isinstance(database, MultiplexedDatabase)
    return list(database._wrapped)


def test_a_directory_is_the_whole_database(tmp_path: Path) -> None:
    database = example_database(str(tmp_path / "examples"))
    assert isinstance(database, DirectoryBasedExampleDatabase)
    assert database.path == tmp_path / "examples"
    assert not (tmp_path / "examples").exists()  # made when the first example is saved


def test_a_shared_source_sits_beside_the_local_directory(tmp_path: Path) -> None:
    local = tmp_path / "local"
    local_db, shared = _parts(example_database(f"readonly:{tmp_path / 'nfs'}", local))
    assert isinstance(local_db, DirectoryBasedExampleDatabase) and local_db.path == local
    assert isinstance(shared, ReadOnlyDatabase)
    # A GitHub artifact is read-only by nature; its download cache lives beside ours.
    local_db, artifact = _parts(example_database("github-artifact:acme/schemas/examples", local))
    assert isinstance(artifact, ReadOnlyDatabase)
    inner = artifact._wrapped
    assert isinstance(inner, GitHubArtifactDatabase)
    assert (inner.owner, inner.repo, inner.artifact_name) == ("acme", "schemas", "examples")
    assert Path(inner.path) == local / "github-artifacts" / "examples"


def test_a_read_only_source_replays_but_is_never_written(tmp_path: Path) -> None:
    shared = DirectoryBasedExampleDatabase(tmp_path / "shared")
    shared.save(b"prop", b"found on CI")
    database = example_database(f"readonly:{tmp_path / 'shared'}", tmp_path / "local")
    assert list(database.fetch(b"prop")) == [b"found on CI"]
    database.save(b"prop", b"found here")
    assert sorted(database.fetch(b"prop")) == [b"found here", b"found on CI"]
    assert list(shared.fetch(b"prop")) == [b"found on CI"]  # only the local one took it
    assert list(DirectoryBasedExampleDatabase(tmp_path / "local").fetch(b"prop")) == [
        b"found here"]


def test_each_property_has_a_key_of_its_own(tmp_path: Path) -> None:
    database = DirectoryBasedExampleDatabase(tmp_path)
    extraction, isolation = Scoped(database, "extraction@head"), Scoped(database, "isolation@head")
    extraction.save(b"key", b"example")
    assert list(extraction.fetch(b"key")) == [b"example"]
    assert list(isolation.fetch(b"key")) == []
    extraction.move(b"key", b"key.secondary", b"example")
    assert list(extraction.fetch(b"key.secondary")) == [b"example"]
    assert list(database.fetch(b"extraction@head:key.secondary")) == [b"example"]


def test_two_machines_share_a_failure_through_redis(redis_url: str, tmp_path: Path) -> None:
    import redis

    first = example_database(redis_url, tmp_path / "machine1")
    second = example_database(redis_url, tmp_path / "machine2")
    assert list(second.fetch(b"prop")) == []
    first.save(b"prop", b"the failing example")
    # The second machine's own directory is empty: the example came through Redis.
    assert list(DirectoryBasedExampleDatabase(tmp_path / "machine2").fetch(b"prop")) == []
    assert list(second.fetch(b"prop")) == [b"the failing example"]
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.keys(REDIS_PREFIX + b"*") == [REDIS_PREFIX + b"prop"]
    finally:
        client.close()
    # readonly: replays from Redis, never writes to it.
    reader = example_database(f"readonly:{redis_url}", tmp_path / "laptop")
    reader.save(b"prop", b"found on a laptop")
    assert list(first.fetch(b"prop")) == [b"the failing example"]


def test_an_unreachable_redis_is_one_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("redis")
    with pytest.raises(ConfigError) as info:
        example_database("redis://127.0.0.1:1/0", tmp_path)
    message = str(info.value)
    assert message.startswith("example_db='redis://127.0.0.1:1/0': cannot reach Redis")
    assert "start the server or correct the URL" in message
