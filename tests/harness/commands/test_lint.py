"""schema-kit lint: the real squawk over rendered scripts, findings at the original file:line;
and verify's comparison of those findings with the locks measured on a real server."""

from __future__ import annotations

import json
import re
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from schema_kit.checks.safety import measure_chain
from schema_kit.cli import main
from schema_kit.commands.lint import LINT_INSTALL, run_lint
from schema_kit.commands.lint_locks import compare
from schema_kit.commands.reports import write_reports
from schema_kit.commands.verify import LINT, run_verification
from schema_kit.config import Settings, default_sql_dir
from schema_kit.db.harness import Harness
from schema_kit.db.migrations import discover
from tests.conftest import SqlDirFactory
from tests.harness.children import child, child_env, child_tmpdir, left_in

LOCK = "SET LOCAL lock_timeout = '1s';\n"
# One clean migration, one that builds an index without CONCURRENTLY (its line 4). The down
# scripts accept their drops where they are, as a team would.
CHAIN = {
    "1.0.0_things.up.sql": "-- things\nCREATE TABLE things (id bigint PRIMARY KEY, label text);\n",
    "1.0.0_things.down.sql": f"-- drop things\n{LOCK}-- squawk-ignore ban-drop-table\n"
                             "DROP TABLE things;\n",
    "1.1.0_index.up.sql": f"-- index label\n{LOCK}\nCREATE INDEX things_label ON things (label);\n",
    "1.1.0_index.down.sql": f"-- drop index\n{LOCK}-- squawk-ignore "
                            "require-concurrent-index-deletion\nDROP INDEX things_label;\n",
}


def _lint(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    code = main(["lint", "--json", *argv])
    return code, json.loads(capsys.readouterr().out)


def _found(report: Any) -> list[tuple[str, str, int, str]]:
    return [(f["version"], Path(f["file"]).name, f["line"], f["rule"])
            for m in report["migrations"] for f in m["findings"]]


def _lines_matching(path: Path, pattern: str) -> list[int]:
    text = path.read_text(encoding="utf-8").splitlines()
    return [n for n, line in enumerate(text, 1) if re.match(pattern, line)]


@pytest.mark.our_chain
def test_our_chain_reports_its_index_builds_at_their_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    chain = discover(default_sql_dir())
    code, report = _lint([], capsys)
    assert code == 1 and report["clean"] is False
    assert [m["version"] for m in report["migrations"]] == [str(m.version) for m in chain]
    seed = next(m for m in chain if str(m.version) == "2.0.0")
    by_rule: dict[str, list[int]] = {}
    for version, name, line, rule in _found(report):
        if version == "2.0.0" and name == seed.up_path.name:
            by_rule.setdefault(rule, []).append(line)
    # Every CREATE INDEX of 2.0.0 (18, none CONCURRENTLY), at its own line of the file; every
    # STORED generated column at the line that adds it.
    assert by_rule["require-concurrent-index-creation"] == _lines_matching(
        seed.up_path, r"CREATE INDEX ")
    assert len(by_rule["require-concurrent-index-creation"]) == 18
    assert by_rule["adding-field-with-default"] == _lines_matching(
        seed.up_path, r"\s+ADD COLUMN \w+ .* GENERATED ALWAYS AS")
    # LightRAG's own column types are not the lint's business (the project config).
    assert not {"prefer-text-field", "prefer-timestamp-tz"} & {f[3] for f in _found(report)}


def test_one_bad_migration_is_exit_1_with_exactly_its_finding(
    make_sql_dir: SqlDirFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    sql_dir = make_sql_dir(CHAIN)
    code, report = _lint(["--sql-dir", str(sql_dir)], capsys)
    assert code == 1
    assert _found(report) == [("1.1.0", "1.1.0_index.up.sql", 4,
                               "require-concurrent-index-creation")]
    assert main(["lint", "--sql-dir", str(sql_dir)]) == 1
    text = capsys.readouterr().out.splitlines()
    assert text[0] == "1.0.0 things: no findings"
    assert text[2].endswith("1.1.0_index.up.sql:4: require-concurrent-index-creation: During "
                            "normal index creation, table updates are blocked, but reads are "
                            "still allowed.")


def test_a_clean_chain_is_exit_0(
    make_sql_dir: SqlDirFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    clean = {k: v for k, v in CHAIN.items() if k.startswith("1.0.0")}
    code, report = _lint(["--sql-dir", str(make_sql_dir(clean))], capsys)
    assert (code, report["clean"], _found(report)) == (0, True, [])


def test_psql_parameters_are_rendered_and_lines_kept(
    make_sql_dir: SqlDirFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unrendered, ``:vector_dim`` and ``:'vector_suffix'`` are syntax errors to squawk and
    ``\\echo`` is no SQL at all; rendered, the one finding is at line 7 of the file."""
    up = ("-- vectors\n"
          "\\echo adding the vector column\n"
          f"{LOCK}"
          "COMMENT ON TABLE things IS :'vector_suffix';\n"
          "ALTER TABLE things\n"
          "    ADD COLUMN embedding VECTOR(:vector_dim),\n"
          "    ADD COLUMN seen_at timestamptz DEFAULT clock_timestamp();\n")
    down = f"-- no vectors\n{LOCK}-- squawk-ignore ban-drop-column\n" \
           "ALTER TABLE things DROP COLUMN embedding, DROP COLUMN seen_at;\n"
    sql_dir = make_sql_dir({**{k: v for k, v in CHAIN.items() if k.startswith("1.0.0")},
                            "1.1.0_vectors.up.sql": up, "1.1.0_vectors.down.sql": down})
    code, report = _lint(["--sql-dir", str(sql_dir), "--vector-dim", "3072",
                          "--vector-suffix", "model_3072d"], capsys)
    assert code == 1
    assert _found(report) == [("1.1.0", "1.1.0_vectors.up.sql", 7, "adding-field-with-default")]
    raw = subprocess.run(["squawk", "--reporter", "json", str(sql_dir / "migrations" /
                                                               "1.1.0_vectors.up.sql")],
                         capture_output=True, text=True, check=False, env=child_env())
    assert "syntax-error" in {f["rule_name"] for f in json.loads(raw.stdout)}


def test_the_temp_dir_is_removed_after_a_run_and_after_an_error(
    make_sql_dir: SqlDirFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    sql_dir = make_sql_dir(CHAIN)
    assert len(run_lint(Settings(sql_dir=sql_dir)).findings) == 1
    assert list(temp.iterdir()) == []
    bad = tmp_path / "bad.toml"
    bad.write_text('excluded_rules = ["no-such-rule"]\n')
    assert main(["lint", "--sql-dir", str(sql_dir), "--squawk-config", str(bad)]) == 2
    assert list(temp.iterdir()) == []


def test_a_team_config_is_used(
    make_sql_dir: SqlDirFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    team = tmp_path / "team.toml"
    team.write_text('excluded_rules = ["require-concurrent-index-creation"]\n'
                    'assume_in_transaction = true\n')
    code, report = _lint(["--sql-dir", str(make_sql_dir(CHAIN)), "--squawk-config", str(team)],
                         capsys)
    # The team's config replaces the project's: the index build is allowed, and the
    # statement_timeout rule the project turns off is on again.
    assert (code, report["config"]) == (1, str(team))
    assert {f[3] for f in _found(report)} == {"require-statement-timeout"}


@pytest.mark.parametrize("how", ["a path that does not exist", "a name on no PATH"])
def test_missing_squawk_is_exit_2_with_the_one_line_remedy(how: str, tmp_path: Path) -> None:
    squawk = str(tmp_path / "squawk") if how.startswith("a path") else "squawk-not-installed"
    env = child_env(PATH=str(tmp_path), SCHEMA_KIT_SQUAWK=squawk)
    result = subprocess.run([sys.executable, "-m", "schema_kit.cli", "lint"], env=env,
                            capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("schema-kit lint: error: squawk not installed: ")
    assert LINT_INSTALL in result.stderr and "Traceback" not in result.stderr


def test_ctrl_c_while_squawk_runs_leaves_no_temp_dir(
    make_sql_dir: SqlDirFactory, tmp_path: Path
) -> None:
    # A squawk that takes long, so the interrupt lands while lint waits for it: the executable
    # only says it started and sleeps (the real squawk answers in milliseconds).
    started = tmp_path / "started"
    slow = tmp_path / "slow-squawk"
    slow.write_text(f'#!/bin/sh\ntouch "{started}"\nexec sleep 60\n')
    slow.chmod(slow.stat().st_mode | stat.S_IXUSR)
    args = [sys.executable, "-m", "schema_kit.cli", "lint", "--sql-dir",
            str(make_sql_dir(CHAIN)), "--squawk", str(slow)]
    with child_tmpdir() as tmpdir, child(args, tmpdir, stderr=subprocess.PIPE) as proc:
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert started.exists() and left_in(tmpdir), "lint never reached squawk"
        sleeper = psutil.Process(proc.pid).children()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130 and "interrupted" in err, err
        assert left_in(tmpdir) == []
        assert not [p for p in sleeper if p.is_running() and p.status() != "zombie"]


# A data table (migration_safety loads rows into it) and two migrations squawk misjudges:
# 1.1.0 widens a varchar, which squawk calls a rewrite and PostgreSQL does without one;
# 1.2.0 adds a serial column, a rewrite under ACCESS EXCLUSIVE that squawk flags only as a
# style matter (prefer-identity).
MEASURED_CHAIN = {
    "1.0.0_docs.up.sql": "-- docs\nCREATE TABLE lightrag_doc_full (workspace varchar(255), "
                         "id varchar(255), note varchar(100), PRIMARY KEY (workspace, id));\n",
    "1.0.0_docs.down.sql": "-- no docs\nDROP TABLE lightrag_doc_full;\n",
    "1.1.0_widen.up.sql": f"-- widen note\n{LOCK}ALTER TABLE lightrag_doc_full\n"
                          "    ALTER COLUMN note TYPE varchar(200);\n",
    "1.1.0_widen.down.sql": "-- narrow note\nALTER TABLE lightrag_doc_full "
                            "ALTER COLUMN note TYPE varchar(100);\n",
    "1.2.0_seq.up.sql": f"-- number docs\n{LOCK}ALTER TABLE lightrag_doc_full "
                        "ADD COLUMN seq serial;\n",
    "1.2.0_seq.down.sql": "-- unnumber docs\nALTER TABLE lightrag_doc_full DROP COLUMN seq;\n",
}
EXPECTED_DISAGREEMENTS = [
    ("1.1.0", "lightrag_doc_full", "rewrite", "false alarm"),
    ("1.2.0", "lightrag_doc_full", "ACCESS EXCLUSIVE", "missed"),
    ("1.2.0", "lightrag_doc_full", "rewrite", "missed"),
]


def test_lint_and_measured_locks_disagree_where_squawk_misjudges(
    schema_kit_harness: Harness, make_sql_dir: SqlDirFactory
) -> None:
    sql_dir = make_sql_dir(MEASURED_CHAIN)
    measured = measure_chain(schema_kit_harness.templates, rows_per_table=5,
                             migrations=discover(sql_dir))
    found = compare(run_lint(Settings(sql_dir=sql_dir)).findings, measured)
    assert [(d.version, d.table, d.effect, d.kind) for d in found] == EXPECTED_DISAGREEMENTS
    false_alarm, lock, rewrite = found
    assert false_alarm.squawk == "changing-column-type at 1.1.0_widen.up.sql:4"
    assert false_alarm.measured == "not measured"
    assert lock.squawk == rewrite.squawk == "prefer-identity at 1.2.0_seq.up.sql:3"
    assert lock.measured.startswith("ACCESS EXCLUSIVE held ")
    # 5 rows loaded before 1.1.0 and 5 more before 1.2.0 (none before 1.0.0: no table yet).
    assert rewrite.measured == "rewritten (table rewritten; 10 rows)"


def _verify(server: Harness, sql_dir: Path, tmp_path: Path, **settings: Any) -> Any:
    harness = Harness(Settings(backend=server.settings.backend, sql_dir=sql_dir,
                               replay_dir=tmp_path / "replays", **settings),
                      tag="lnt", server=server.server)
    said: list[str] = []
    try:
        verification = run_verification(harness, "ci", said.append, max_examples=2,
                                        select=["migration_safety"])
    finally:
        harness.close()
    return verification, said


def test_verify_reports_the_disagreements(
    schema_kit_harness: Harness, make_sql_dir: SqlDirFactory, tmp_path: Path
) -> None:
    verification, _ = _verify(schema_kit_harness, make_sql_dir(MEASURED_CHAIN), tmp_path)
    lint = next(c for c in verification.checks if c.name == LINT)
    assert lint.status == "reported" and verification.holds  # reported, never failing
    assert [(d.version, d.table, d.effect, d.kind)
            for d in verification.lint.disagreements] == EXPECTED_DISAGREEMENTS
    write_reports(verification, tmp_path / "report")
    md = (tmp_path / "report" / "report.md").read_text()
    assert "## Lint vs measured locks" in md
    assert ("| 1.1.0 | lightrag_doc_full | rewrite | false alarm | changing-column-type at "
            "1.1.0_widen.up.sql:4 | not measured |") in md
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert [d["kind"] for d in report["lint"]["disagreements"]] == [
        k for *_, k in EXPECTED_DISAGREEMENTS]


def test_verify_without_squawk_says_so_and_goes_on(
    schema_kit_harness: Harness, make_sql_dir: SqlDirFactory, tmp_path: Path
) -> None:
    verification, said = _verify(schema_kit_harness, make_sql_dir(MEASURED_CHAIN), tmp_path,
                                 squawk=str(tmp_path / "no-squawk"))
    skipped = f"squawk not installed ({LINT_INSTALL})"
    assert f"lint: skipped: {skipped}" in said
    statuses = {c.name: c.status for c in verification.checks}
    assert statuses == {"chain applies": "holds", "migration_safety": "reported",
                        LINT: "skipped"}
    assert next(c for c in verification.checks if c.name == LINT).skipped == skipped
    assert verification.holds and verification.lint is None
    write_reports(verification, tmp_path / "report")
    assert f"| {LINT} | lint | skipped: {skipped} |" in (
        tmp_path / "report" / "report.md").read_text()
