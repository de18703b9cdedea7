"""Reuse for the edit loop: a kept embedded server and its templates, found again by the next
run, taken over from a killed one, removed by ``schema-kit clean``. Real servers, each test
under a reuse root of its own (never the user's cache), cleaned whatever the test did."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from schema_kit import cli
from schema_kit.config import Settings
from schema_kit.db.harness import Harness
from schema_kit.errors import ProvisionError
from schema_kit.provision import storage
from schema_kit.provision.reuse import clean, refusal
from schema_kit.provision.slots import reuse_root as reuse_root_of
from schema_kit.provision.storage import choose_storage
from tests.conftest import TINY_CHAIN, SqlDirFactory
from tests.harness.children import child, child_env, child_tmpdir, nothing_kept, reuse_root

# End to end: whole runs in processes of their own (see conftest.py).
pytestmark = pytest.mark.e2e

@pytest.fixture
def root(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A reuse root of the test's own; CI is unset: reuse is what these tests are about (a
    test below sets it)."""
    monkeypatch.delenv("CI", raising=False)
    with reuse_root() as path:
        yield path


@pytest.fixture
def chain(make_sql_dir: SqlDirFactory) -> Path:
    return make_sql_dir(dict(TINY_CHAIN))


def _settings(root: Path, sql_dir: Path, backend: str = "embedded", dsn: str = "") -> Settings:
    return Settings(backend=backend, dsn=dsn, reuse=True, reuse_dir=root, sql_dir=sql_dir)


class Session:
    """One run's harness with reuse (slot ``main``), and the migration steps it ran."""

    def __init__(self, settings: Settings, slot: str = "main") -> None:
        self.migrated: list[str] = []
        self.harness = Harness(settings, tag="reuse", reuse_slot=slot,
                               progress=self.migrated.append)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_: object) -> None:
        self.harness.close()

    @property
    def postmaster(self) -> int:
        data = Path(self.harness.server.detail)
        return int((data / "postmaster.pid").read_text().split()[0])

    def template_oid(self, name: str) -> int:
        row = self.harness.scratch.admin.execute(
            "SELECT oid FROM pg_database WHERE datname = %s", (name,)).fetchone()
        assert row is not None, f"no database {name}"
        return int(row[0])

    def databases(self) -> set[str]:
        rows = self.harness.scratch.admin.execute("SELECT datname FROM pg_database").fetchall()
        return {str(r[0]) for r in rows}


def _alive(pid: int) -> bool:
    # A postmaster pg_ctl started is reparented; where nobody reaps it, it stays a zombie.
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_second_run_finds_the_server_and_the_template(root: Path, chain: Path) -> None:
    settings = _settings(root, chain)
    with Session(settings) as first:
        server = first.harness.server
        assert server.reused and server.note.startswith("reused (new")
        assert "kept after the run" in (first.harness.describe() or "")
        template = first.harness.templates.template("head")
        oid, pid = first.template_oid(template), first.postmaster
        assert first.migrated, "the first run builds the template"
        clone = first.harness.database()
    assert _alive(pid), "the run ended: its server stays"
    with Session(settings) as second:
        assert second.harness.server.dsn == server.dsn
        assert second.harness.server.note.startswith("reused (found running")
        assert second.postmaster == pid
        assert second.harness.templates.template("head") == template
        assert second.template_oid(template) == oid
        assert second.migrated == [], "a found template is not migrated again"
        assert clone.name not in second.databases(), "the first run dropped its clone"
        with second.harness.database().connect() as conn:
            assert conn.execute("SELECT count(*) FROM things").fetchone() == (0,)
    done = clean(root)
    assert len(done.removed) == 1 and f"server pid {pid} stopped" in done.removed[0]
    assert not _alive(pid)
    assert nothing_kept(root) == []


def test_a_changed_migration_builds_a_new_template_and_drops_the_old(
    root: Path, chain: Path
) -> None:
    settings = _settings(root, chain)
    with Session(settings) as first:
        old = first.harness.templates.template("head")
    label = chain / "migrations" / "1.1.0_label.up.sql"
    label.write_text(label.read_text() + "ALTER TABLE things ADD COLUMN note text;\n")
    with Session(settings) as second:
        new = second.harness.templates.template("head")
        assert new != old
        assert second.migrated, "the changed chain is migrated"
        assert old not in second.databases(), "the template it replaces is dropped"
        with second.harness.database().connect() as conn:
            assert conn.execute("SELECT note FROM things").fetchall() == []
    with Session(settings) as third:  # and the new one is what the next run finds
        assert third.harness.templates.template("head") == new
        assert third.migrated == []


OWNER = '''
import sys, time
from pathlib import Path
from schema_kit.config import Settings
from schema_kit.db.harness import Harness
from schema_kit.errors import ProvisionError

settings = Settings(backend="embedded", reuse=True, reuse_dir=Path(sys.argv[1]),
                    sql_dir=Path(sys.argv[2]))
harness = Harness(settings, tag="owner", reuse_slot="main")
template = harness.templates.template("head")
print(template, harness.database().name, flush=True)
time.sleep(120)
'''


def _watchdogs_of(pid: int) -> list[int]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "schema_kit.provision.watchdog" in cmdline and str(pid) in cmdline:
            found.append(proc.pid)
    return found


def test_a_killed_owner_s_server_is_taken_over_then_cleaned(
    root: Path, chain: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(root, chain)
    env = {k: v for k, v in child_env().items() if k != "CI"}
    with child_tmpdir() as tmpdir, child([sys.executable, "-c", OWNER, str(root), str(chain)],
                                         tmpdir, env=env, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        template, clone = proc.stdout.readline().split()
        assert _watchdogs_of(proc.pid) == [], "nothing may stop a kept server when its run dies"
        # While it lives, it owns the slot: clean names it and leaves it; another run gets a
        # throw-away server, saying why.
        assert cli.main(["clean", "--reuse-dir", str(root)]) == 2
        err = capsys.readouterr().err
        assert f"owned by a live run (pid {proc.pid})" in err and "Traceback" not in err
        with Session(settings) as meanwhile:
            assert not meanwhile.harness.server.reused
            assert f"slot main is owned by pid {proc.pid}" in meanwhile.harness.server.note
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    with Session(settings) as next_run:
        assert next_run.harness.server.note.startswith("reused (found running")
        assert next_run.harness.templates.template("head") == template
        assert next_run.migrated == []
        assert clone not in next_run.databases(), "the killed run's clone is swept"
        pid = next_run.postmaster
    assert cli.main(["clean", "--reuse-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"server pid {pid} stopped" in out and str(chain) in out
    assert nothing_kept(root) == []
    assert cli.main(["clean", "--reuse-dir", str(root)]) == 0
    assert capsys.readouterr().out == f"nothing to clean under {root}\n"


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def test_a_dead_postmaster_is_started_again_from_its_data_dir(root: Path, chain: Path) -> None:
    settings = _settings(root, chain)
    with Session(settings) as first:
        template = first.harness.templates.template("head")
        pid = first.postmaster
    os.kill(pid, signal.SIGKILL)  # a crash, or a reboot that kept the cache dir
    _wait_gone(pid)
    with Session(settings) as second:
        assert second.harness.server.note.startswith("reused (started again from its data dir")
        assert second.postmaster != pid
        assert second.harness.templates.template("head") == template
        assert second.migrated == []


def test_a_data_dir_that_will_not_start_is_rebuilt(root: Path, chain: Path) -> None:
    settings = _settings(root, chain)
    with Session(settings) as first:
        first.harness.templates.template("head")
        data, pid = Path(first.harness.server.detail), first.postmaster
    os.kill(pid, signal.SIGQUIT)
    _wait_gone(pid)
    (data / "postgresql.conf").write_text("this is not a setting\n")
    with Session(settings) as second:
        assert second.harness.server.note.startswith("reused (rebuilt")
        assert "postgresql.conf\" contains errors" in (data.parent / "rebuilt.log").read_text()
        second.harness.templates.template("head")
        assert second.migrated, "a rebuilt server has no template"


def test_reuse_is_ignored_in_ci_and_on_other_backends(
    root: Path, chain: Path, monkeypatch: pytest.MonkeyPatch, schema_kit_harness: Harness
) -> None:
    dsn = schema_kit_harness.server.dsn
    with Session(_settings(root, chain, "dsn", dsn)) as other:
        assert not other.harness.server.reused
        assert other.harness.server.note == (
            "reuse ignored: it applies to the embedded backend only, not dsn")
    monkeypatch.setenv("CI", "true")
    with Session(_settings(root, chain)) as in_ci:
        assert not in_ci.harness.server.reused
        assert "reuse ignored: CI is set" in (in_ci.harness.describe() or "")
    assert nothing_kept(root) == []


def test_a_reuse_dir_too_deep_for_the_socket_is_refused_before_anything_is_made(
    tmp_path: Path, chain: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    deep = tmp_path / ("d" * 100)
    with Session(_settings(deep, chain)) as session, \
            pytest.raises(ProvisionError, match="set SCHEMA_KIT_REUSE_DIR") as caught:
        session.harness.server  # noqa: B018 - the property starts it
    assert str(deep) in str(caught.value)
    assert not deep.exists()


def test_ci_never_asks_for_reuse() -> None:
    ci = (Path(__file__).resolve().parents[3] / ".ci" / "run").read_text()
    assert "reuse" not in ci.lower()  # neither the flag nor the env var: CI starts fresh


@pytest.mark.parametrize(("env", "backend", "why"), [
    ({}, "embedded", ""),
    ({"CI": "0"}, "embedded", ""),
    ({"CI": "false"}, "embedded", ""),
    ({"CI": "true"}, "embedded", "reuse ignored: CI is set (a CI run never keeps a server)"),
    ({"CI": "1"}, "container", "reuse ignored: CI is set (a CI run never keeps a server)"),
    ({}, "container", "reuse ignored: it applies to the embedded backend only, not container"),
])
def test_where_reuse_applies(env: dict[str, str], backend: str, why: str) -> None:
    assert refusal(backend, env) == why


def test_without_a_reuse_dir_a_ram_run_keeps_its_server_in_ram_and_clean_finds_it(
    chain: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With storage in RAM and no reuse_dir, the kept server lives on that tmpfs (a kept
    server on the disk pays the disk for every clone), and a plain `schema-kit clean` (no
    --reuse-dir) looks there as well as in the cache dir."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with child_tmpdir() as tmpdir:
        if choose_storage("auto").kind != "ram":  # no tmpfs here: reuse keeps to the cache
            with Session(Settings(backend="embedded", reuse=True, sql_dir=chain)) as run:
                assert run.harness.server.storage == "disk"
                assert str(tmp_path / "cache") in run.harness.server.detail
            assert cli.main(["clean"]) == 0
            return
        monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))  # the tmpfs dir: TMPDIR
        # The only RAM place looked at: `clean` must not stop the user's own kept servers.
        monkeypatch.setattr(storage, "_SHM", tmpdir)
        settings = Settings(backend="embedded", reuse=True, sql_dir=chain, storage="ram")
        with Session(settings) as run:
            server = run.harness.server
            assert server.reused and server.storage == "ram"
            ram_root = tmpdir.resolve() / f"schema_kit-reuse-{os.geteuid()}"
            assert Path(server.detail).is_relative_to(ram_root)
            pid = run.postmaster
        assert _alive(pid) and not (tmp_path / "cache").exists()
        capsys.readouterr()
        assert cli.main(["clean"]) == 0
        assert f"server pid {pid} stopped" in capsys.readouterr().out
        assert not _alive(pid)
        assert nothing_kept(ram_root) == [] and not ram_root.exists()


def test_a_ram_reuse_root_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    """/dev/shm is everyone's: a directory of the RAM root's name that is a link, or (as root,
    who can make one) belongs to another user, is never used."""
    ours = tmp_path / f"schema_kit-reuse-{os.geteuid()}"
    ours.symlink_to(tmp_path)
    with pytest.raises(ProvisionError, match="is not this user's directory"):
        reuse_root_of(None, ram=tmp_path)
    ours.unlink()
    ours.mkdir()
    assert reuse_root_of(None, ram=tmp_path) == ours.resolve()
    if os.geteuid() == 0:
        os.chown(ours, 1, -1)
        with pytest.raises(ProvisionError, match="is not this user's directory"):
            reuse_root_of(None, ram=tmp_path)
