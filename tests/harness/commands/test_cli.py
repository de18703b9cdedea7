"""The schema-kit command line against a real scratch database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from schema_kit.cli import _COMMANDS, _HELP, _parser, _verify_settings, main
from schema_kit.connect import redact
from schema_kit.db.databases import Database
from schema_kit.db.harness import Harness
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
        conn.execute("DROP TABLE IF EXISTS schema_kit_migrations")
        assert main(["status", "--dsn", db.dsn]) == 0
        status = capsys.readouterr().out.splitlines()
        assert status and all("pending" in line for line in status), status
        found = conn.execute("SELECT to_regclass('schema_kit_migrations')").fetchone()
        assert found == (None,)


def test_rollback_refuses_to_go_up(
    schema_kit_db_factory: Factory, capsys: pytest.CaptureFixture[str]
) -> None:
    db = schema_kit_db_factory("2.0.0")
    assert main(["rollback", "--dsn", db.dsn, "--to", "3.0.0"]) == 2
    err = capsys.readouterr().err
    assert "below the target; use migrate --to" in err and "Traceback" not in err


def test_tampered_chain_is_exit_2_with_the_cause(
    schema_kit_db_factory: Factory, make_sql_dir: SqlDirFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    sql_dir = make_sql_dir(TINY_CHAIN)
    db = schema_kit_db_factory(None)
    assert main(["migrate", "--dsn", db.dsn, "--sql-dir", str(sql_dir)]) == 0
    (sql_dir / "migrations" / "1.1.0_label.up.sql").write_text("-- changed\nSELECT 1;\n")
    assert main(["migrate", "--dsn", db.dsn, "--sql-dir", str(sql_dir)]) == 2
    assert "applied migration 1.1.0 was changed after it ran" in capsys.readouterr().err


def test_failed_migration_is_one_line_naming_file_and_line(
    schema_kit_db_factory: Factory, make_sql_dir: SqlDirFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {**TINY_CHAIN, "1.2.0_bad.up.sql": "-- bad\nSELECT 1;\nSELECT * FROM nowhere;\n",
             "1.2.0_bad.down.sql": "SELECT 1;\n"}
    sql_dir = make_sql_dir(files)
    db = schema_kit_db_factory(None)
    assert main(["migrate", "--dsn", db.dsn, "--sql-dir", str(sql_dir)]) == 2
    err = capsys.readouterr().err  # progress lines, then the error
    errors = [line for line in err.splitlines() if not line.startswith("  up ")]
    assert len(errors) == 1 and "Traceback" not in err
    assert errors[0].startswith("schema-kit migrate: error: up 1.2.0 failed at ")
    assert f"failed at {sql_dir / 'migrations' / '1.2.0_bad.up.sql'}:3 [42P01]" in err


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
        (["verify", "--shard", "0/2"], "--shard '0/2' must be K/N with 1 <= K <= N"),
        (["verify", "--shard", "3/2"], "--shard '3/2' must be K/N with 1 <= K <= N"),
        (["verify", "--shard", "x"], "--shard 'x' must be K/N with 1 <= K <= N"),
        (["verify", "--example-db", "s3://bucket"],
         "example_db='s3://bucket' has an unknown scheme 's3'"),
        (["verify", "--example-db", "redis://127.0.0.1:1/0"],
         "example_db='redis://127.0.0.1:1/0': cannot reach Redis"),
        (["report-merge", "/nonexistent/shard-1"], "/nonexistent/shard-1 has no report.json"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], expected: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "schema_kit.cli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        # A bare environment, but the code under test (PYTHONPATH, when a worktree sets it).
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp",
             **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}},
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


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"schema-kit {metadata.version('schema-kit')}"


def _status(dsn: str, sql_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    code = main(["status", "--dsn", dsn, "--sql-dir", str(sql_dir), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_status_exits_1_on_a_checksum_mismatch_or_an_unknown_version(
    schema_kit_db_factory: Factory, make_sql_dir: SqlDirFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sql_dir = make_sql_dir(TINY_CHAIN)
    db = schema_kit_db_factory(None)
    assert main(["migrate", "--dsn", db.dsn, "--sql-dir", str(sql_dir), "--to", "1.0.0"]) == 0
    capsys.readouterr()
    code, status = _status(db.dsn, sql_dir, capsys)
    assert code == 0 and status["ok"] and status["current"] == "1.0.0"
    assert [(m["version"], m["state"]) for m in status["migrations"]] == [
        ("1.0.0", "applied"), ("1.1.0", "pending")]
    assert status["migrations"][0]["description"] == "create things"
    secret = conninfo_to_dict(db.dsn).get("password")  # only the container backend has one
    assert not secret or str(secret) not in status["database"]
    assert status["unknown"] == []

    up = sql_dir / "migrations" / "1.0.0_things.up.sql"
    up.write_text(up.read_text() + "-- edited after it ran\n")
    assert main(["status", "--dsn", db.dsn, "--sql-dir", str(sql_dir)]) == 1
    assert "CHECKSUM MISMATCH" in capsys.readouterr().out.splitlines()[0]
    code, status = _status(db.dsn, sql_dir, capsys)
    assert code == 1 and not status["ok"]
    first = status["migrations"][0]
    assert first["state"] == "checksum_mismatch"
    assert first["checksum"] != first["recorded_checksum"]

    for path in (sql_dir / "migrations").glob("1.0.0_*"):  # applied, and now unknown
        path.unlink()
    assert main(["status", "--dsn", db.dsn, "--sql-dir", str(sql_dir)]) == 1
    assert "1.0.0  applied, NOT IN" in capsys.readouterr().out
    code, status = _status(db.dsn, sql_dir, capsys)
    assert code == 1 and [u["version"] for u in status["unknown"]] == ["1.0.0"]


def test_diff_names_its_sides_by_file_and_dsn_and_speaks_json(
    schema_kit_db_factory: Factory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = schema_kit_db_factory("2.0.0"), schema_kit_db_factory("2.1.0")
    left = tmp_path / "before.json"
    assert main(["snapshot", "--dsn", old.dsn, "-o", str(left)]) == 0
    assert "public.lightrag_doc_full.tenant_id" in json.loads(left.read_text())["columns"]
    assert main(["diff", str(left), new.dsn]) == 1
    out = capsys.readouterr().out
    assert "+ trigger public.lightrag_doc_full." in out
    right = redact(new.dsn)
    assert f"--- {left}\n+++ {right}\n" in out
    assert f"+ function public.sync_tenant_from_workspace(): only in {right}" in out
    assert "the right" not in out and "only on" not in out
    assert main(["diff", new.dsn, str(left), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert (result["left"], result["right"], result["equal"]) == (right, str(left), False)
    function = next(d for d in result["differences"] if d["kind"] == "function")
    assert function == {
        "change": "removed", "kind": "function", "name": "public.sync_tenant_from_workspace()",
        "only_in": "left", "fields": {},
        "line": f"- function public.sync_tenant_from_workspace(): only in {right}",
    }
    assert main(["diff", str(left), old.dsn, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["differences"] == []
    assert main(["diff", str(left), old.dsn]) == 0
    assert "snapshots are equal" in capsys.readouterr().out


@pytest.mark.usefixtures("reference_on_the_session_server")
def test_audit_json(
    schema_kit_harness: Harness, capsys: pytest.CaptureFixture[str],
) -> None:
    db = schema_kit_harness.templates.clone("3.0.0", purpose="audj")
    try:
        with db.connect() as conn:
            conn.execute("INSERT INTO lightrag_doc_full (workspace, id) VALUES ('a:b:c', '1')")
            conn.commit()
        assert main(["audit", "--dsn", db.dsn, "--json"]) == 1
    finally:
        schema_kit_harness.scratch.drop(db.name)
    result = json.loads(capsys.readouterr().out)
    assert result["version"] == "3.0.0" and result["clean"] is False
    assert any(f["kind"] == "extraction" and "a:b:c" in f["detail"] for f in result["findings"])
    assert any("pending migrations" in note for note in result["notes"])


def test_every_subcommand_has_its_help() -> None:
    assert set(_HELP) == {*_COMMANDS, "bench-report"}


@pytest.mark.parametrize("command", sorted(_HELP))
def test_every_subcommand_help_has_a_description_examples_and_exit_codes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main([command, "--help"])
    except SystemExit as exc:
        code = int(exc.code or 0)
    assert code == 0
    out = capsys.readouterr().out
    usage, description = out.split("\n\n")[:2]
    assert usage.startswith(f"usage: schema-kit {command}") and len(description) > 30
    examples = out.split("examples:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert examples and all(f"schema-kit {command}" in e for e in examples)
    exits = out.split("exit codes:\n", 1)[1].splitlines()
    assert exits[0].strip().startswith("0 ") and any(e.strip().startswith("2 ") for e in exits)
