"""Fixtures of the harness tests that need a server other than PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.redis_server import INSTALL, redis_binary, redis_server


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A private, empty Redis server for this test: its ``redis://127.0.0.1:PORT/0``.
    Skips, saying why, where Debian's redis-server or the redis package is not installed."""
    pytest.importorskip("redis", reason="the redis package is not installed: pip install "
                        "'schema-kit[redis]'")
    binary = redis_binary()
    if binary is None:
        pytest.skip(f"redis-server is not installed ({INSTALL})")
    with redis_server(binary) as url:
        yield url
