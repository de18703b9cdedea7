"""The schema-kit command line against a real scratch database."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from schema_kit.cli import _parser, _verify_settings, main
from schema_kit.db.databases import Database
from tests.conftest import TINY_CHAIN, SqlDirFactory

Factory = Callable[..., Database]


def test_migrate_status_rollback_round_trip(
    schema_kit_db_factory: Factory, capsys: pytest.CaptureFixture[str]
) -> None:
    db = schema_kit_db_factory(None)
    assert main(["migrate", "--dsn", db.dsn, "--to", "2.1.0"]) == 0
    assert "3 step(s)" in capsys.readouterr().out
    assert main(["status", "--dsn", db.dsn]) == 0
    status = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in status][:5] == ["1.0.0", "2.0.0", "2.1.0", "2.2.0", "3.0.0"]
    assert "checksum ok" in status[2] and "pending" in status[3]
    assert main(["migrate", "--dsn", db.dsn]) == 0
    assert main(["migrate", "--dsn", db.dsn]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["rollback", "--dsn", db.dsn, "--to", "2.0.0"]) == 0
    assert "now at 2.0.0" in capsys.readouterr().out


def test_status_of_a_never_migrated_database_changes_nothing(
    schema_kit_db_factory: Factory, capsys: pytest.CaptureFixture[str]
) -> None:
    db = schema_kit_db_factory(None)
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS schema_migrations")
        assert main(["status", "--dsn", db.dsn]) == 0
        status = capsys.readouterr().out.splitlines()
        assert status and all("pending" in line for line in status), status
        found = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
        assert found == (None,)


def test_rollback_refuses_to_go_up(
    schema_kit_db_factory: Factory, capsys: pytest.CaptureFixture[str]
) -> None:
    db = schema_kit_db_factory("2.0.0")
    assert main(["rollback", "--dsn", db.dsn, "--to", "3.0.0"]) == 2
    err = capsys.readouterr().err
    assert "below the target; use migrate --to" in err and "Traceback" not in err


def test_snapshot_and_diff_name_the_differing_objects(
    schema_kit_db_factory: Factory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = schema_kit_db_factory("2.0.0"), schema_kit_db_factory("2.1.0")
    left = tmp_path / "left.json"
    assert main(["snapshot", "--dsn", old.dsn, "-o", str(left)]) == 0
    assert "public.lightrag_doc_full.tenant_id" in json.loads(left.read_text())["columns"]
    assert main(["diff", str(left), new.dsn]) == 1
    out = capsys.readouterr().out
    assert "+ trigger public.lightrag_doc_full." in out
    assert "+ function public.sync_tenant_from_workspace()" in out
    assert main(["diff", str(left), old.dsn]) == 0
    assert "snapshots are equal" in capsys.readouterr().out


def test_tampered_chain_is_exit_2_with_the_cause(
    schema_kit_db_factory: Factory, make_sql_dir: SqlDirFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    sql_dir = make_sql_dir(TINY_CHAIN)
    db = schema_kit_db_factory(None)
    assert main(["migrate", "--dsn", db.dsn, "--sql-dir", str(sql_dir)]) == 0
    (sql_dir / "migrations" / "1.1.0_label.up.sql").write_text("-- changed\nSELECT 1;\n")
    assert main(["migrate", "--dsn", db.dsn, "--sql-dir", str(sql_dir)]) == 2
    assert "applied migration 1.1.0 was changed after it ran" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["status", "--dsn", "postgresql://nobody@127.0.0.1:1/none"], "cannot connect to"),
        (["status"], "no database given: pass --dsn"),
        (["migrate", "--dsn", "postgresql://x@127.0.0.1:1/y", "--sql-dir", "/nonexistent"],
         "has no migrations/ directory"),
        (["diff", "missing.json", "other.json"], "neither a readable JSON file nor a DSN"),
        (["migrate", "--vector-dim", "-1", "--dsn", "postgresql://x@h/y"],
         "vector_dim=-1 must be between 1 and 16000"),
        (["verify", "--backend", "docker"], "argument --backend: invalid choice: 'docker'"),
        (["audit", "--backend", "podman", "--dsn", "postgresql://x@h/y"],
         "argument --backend: invalid choice: 'podman'"),
        (["status", "--backend", "embedded"], "unrecognized arguments: --backend embedded"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], expected: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "schema_kit.cli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_verify_replays_go_under_the_report_dir_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCHEMA_KIT_REPLAY_DIR", raising=False)
    report = tmp_path / "report"

    def replay_dir(*argv: str) -> Path:
        args = _parser().parse_args(["verify", "--report", str(report), *argv])
        settings, _ = _verify_settings(args)
        return settings.replay_dir

    assert replay_dir() == report.resolve() / "replays"
    monkeypatch.setenv("SCHEMA_KIT_REPLAY_DIR", str(tmp_path / "from-env"))
    assert replay_dir() == (tmp_path / "from-env").resolve()
    assert replay_dir("--replay-dir", str(tmp_path / "flag")) == (tmp_path / "flag").resolve()


def test_verify_with_only_a_dsn_uses_the_dsn_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCHEMA_KIT_BACKEND", raising=False)
    args = _parser().parse_args(["verify", "--dsn", "postgresql://u@h/postgres"])
    assert _verify_settings(args)[0].backend == "dsn"
    args = _parser().parse_args(["verify", "--dsn", "postgresql://u@h/x", "--backend", "embedded"])
    assert _verify_settings(args)[0].backend == "embedded"
