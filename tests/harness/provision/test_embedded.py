"""The embedded backend: a real server wherever TMPDIR points, even where that path is deep."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from schema_kit.errors import ProvisionError
from schema_kit.provision import embedded
from schema_kit.provision.embedded import SOCKET_PATH_MAX, start_embedded, temp_base
from tests.harness.children import child_tmpdir, servers_under


def _deep(tmp_path: Path) -> Path:
    # Deep enough that <dir>/schema-kit-pg-xxxxxxxx/data/.s.PGSQL.5432 overflows a socket path,
    # as pytest's tmp_path does once its run counter reaches three digits.
    deep = tmp_path / ("d" * max(1, SOCKET_PATH_MAX - len(str(tmp_path))))
    deep.mkdir()
    return deep


def test_a_short_dir_is_used_as_given() -> None:
    with child_tmpdir() as short:
        assert temp_base(short) == short


def test_a_dir_too_deep_for_the_socket_falls_back_to_tmp(tmp_path: Path) -> None:
    assert temp_base(_deep(tmp_path)) == Path("/tmp")


def test_server_starts_from_a_deep_tmpdir_and_leaves_nothing(tmp_path: Path) -> None:
    deep = _deep(tmp_path)
    with start_embedded(base_dir=deep) as server:
        data_dir = Path(server.detail)
        assert data_dir.parent.parent == Path("/tmp")
        with psycopg.connect(server.dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert not data_dir.parent.exists()
    assert servers_under(data_dir.parent) == []
    assert list(deep.iterdir()) == []


def test_no_short_enough_dir_is_a_provision_error_naming_the_remedy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded, "SOCKET_PATH_MAX", 20)
    with pytest.raises(ProvisionError) as caught:
        temp_base(tmp_path)
    message = str(caught.value)
    assert str(tmp_path) in message and "/tmp" in message
    assert "set TMPDIR to a short" in message
