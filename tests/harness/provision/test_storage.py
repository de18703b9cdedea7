"""Where a throw-away server keeps its data: the option's rules, and real servers on each."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from schema_kit.config import Settings
from schema_kit.connect import connect
from schema_kit.db.harness import Harness
from schema_kit.errors import ProvisionError
from schema_kit.provision import provision, storage
from schema_kit.provision.storage import RAM_FILESYSTEMS, choose_storage, filesystem_of
from tests.harness.children import child_env

MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
tmpfs /dev/shm tmpfs rw,relatime,size=24683772k 0 0
/dev/vdb /srv/data\\040disk xfs rw 0 0
tmpfs /srv/data\\040disk/fast tmpfs rw 0 0
"""


def test_the_longest_mount_point_decides_and_escapes_are_read(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(MOUNTS)
    assert filesystem_of(Path("/dev/shm/x/y"), mounts) == "tmpfs"
    assert filesystem_of(Path("/dev/shmem"), mounts) == "ext4"  # a prefix, not a parent
    assert filesystem_of(Path("/srv/data disk/a"), mounts) == "xfs"
    assert filesystem_of(Path("/srv/data disk/fast/pg"), mounts) == "tmpfs"
    assert filesystem_of(Path("/"), tmp_path / "absent") == ""


def test_disk_is_tmpdir_and_ram_refuses_with_what_it_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert choose_storage("disk") == storage.Storage("disk")
    # No tmpfs anywhere it looks: TMPDIR on the disk, no /dev/shm.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(storage, "_SHM", tmp_path / "no-shm")
    with pytest.raises(ProvisionError) as refused:
        choose_storage("ram")
    message = str(refused.value)
    assert str(tmp_path) in message and "no-shm (absent)" in message
    assert "storage to disk or auto" in message
    fallback = choose_storage("auto")
    assert (fallback.kind, fallback.base) == ("disk", None)
    assert "storage auto: disk" in fallback.note and "no-shm (absent)" in fallback.note


def test_a_tmpfs_without_room_is_not_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    found = choose_storage("auto")
    if found.kind == "disk":  # this machine has no tmpfs at all: ram says why
        with pytest.raises(ProvisionError, match="storage=ram needs"):
            choose_storage("ram")
        return
    assert found.base is not None and filesystem_of(found.base) in RAM_FILESYSTEMS
    with pytest.raises(ProvisionError, match=r"MiB free"):
        choose_storage("ram", min_free=1 << 60)
    assert choose_storage("auto", min_free=1 << 60).kind == "disk"


@pytest.mark.parametrize("asked", ["ram", "disk"])
def test_an_embedded_server_keeps_its_data_where_asked(asked: str) -> None:
    settings = Settings(backend="embedded", storage=asked)
    try:
        expected = choose_storage(asked)
    except ProvisionError:  # no tmpfs here: provision refuses the same way, starting nothing
        with pytest.raises(ProvisionError, match="storage=ram needs"), provision(settings):
            pytest.fail("provision started a server it said it could not")
        return
    with provision(settings) as server:
        data = Path(server.detail)
        # What the filesystem under the data dir is; with ram, a RAM one.
        assert server.storage == ("ram" if filesystem_of(data) in RAM_FILESYSTEMS else "disk")
        assert asked == "disk" or server.storage == "ram"
        base = expected.base or Path(tempfile.gettempdir())
        assert data.parent.parent == base.resolve()
        # Where the database files really are, as the server itself says.
        with connect(server.dsn, autocommit=True) as conn:
            row = conn.execute("SHOW data_directory").fetchone()
        assert row is not None and Path(row[0]).resolve() == data.resolve()
    assert not data.parent.exists()


def test_the_header_names_the_storage(schema_kit_harness: Harness) -> None:
    server = schema_kit_harness.server
    described = schema_kit_harness.describe()
    assert described is not None
    if server.backend in ("embedded", "container") and not server.reused:
        assert server.storage in ("ram", "disk")
        assert f"{server.detail} ({server.storage})" in described


BENCH_DUMP = '''
from pathlib import Path

def test_dump(schema_kit_settings, benchmark):
    benchmark(lambda: None)
    Path({out!r}).write_text(schema_kit_settings.storage)
'''


@pytest.mark.e2e
@pytest.mark.parametrize(("flags", "expected"), [
    ((), "disk"),  # auto, in a benchmark run: a benchmark measures a server on a disk
    (("--schema-kit-storage=ram",), "ram"),  # asked for: as asked
])
def test_a_benchmark_run_takes_auto_as_disk(
    tmp_path: Path, flags: tuple[str, ...], expected: str
) -> None:
    out = tmp_path / "storage"
    (tmp_path / "test_dump.py").write_text(BENCH_DUMP.format(out=str(out)))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path), "--benchmark-only",
         *flags, str(tmp_path / "test_dump.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={k: v for k, v in child_env().items() if k != "SCHEMA_KIT_STORAGE"},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert out.read_text() == expected
