"""Discovery and rendering need no database."""

from __future__ import annotations

from pathlib import Path

import pytest

from schema_kit.db.migrations import Version, discover, render
from schema_kit.db.sqlscript import split
from schema_kit.errors import MigrationError
from tests.conftest import TINY_CHAIN, SqlDirFactory


def test_discovers_in_semantic_version_order(make_sql_dir: SqlDirFactory) -> None:
    files = dict(TINY_CHAIN)
    files["1.10.0_late.up.sql"] = "-- late\nSELECT 1;\n"
    files["1.10.0_late.down.sql"] = "SELECT 1;\n"
    found = discover(make_sql_dir(files))
    assert [str(m.version) for m in found] == ["1.0.0", "1.1.0", "1.10.0"]
    assert found[0].description == "create things"
    assert len(found[0].checksum) == 64


def test_packaged_chain_is_the_seed_chain() -> None:
    from schema_kit.config import default_sql_dir

    versions = [str(m.version) for m in discover(default_sql_dir())]
    assert versions[:5] == ["1.0.0", "2.0.0", "2.1.0", "2.2.0", "3.0.0"]


def test_missing_dir_names_the_path_and_the_option(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match=r"has no migrations/ directory.*SCHEMA_KIT_SQL_DIR"):
        discover(tmp_path / "nowhere")


def test_duplicate_version_is_refused(make_sql_dir: SqlDirFactory) -> None:
    files = dict(TINY_CHAIN)
    files["1.1.0_other.up.sql"] = "SELECT 1;"
    files["1.1.0_other.down.sql"] = "SELECT 1;"
    with pytest.raises(MigrationError, match=r"version 1\.1\.0 is duplicated"):
        discover(make_sql_dir(files))


def test_up_without_down_is_refused(make_sql_dir: SqlDirFactory) -> None:
    files = dict(TINY_CHAIN)
    del files["1.1.0_label.down.sql"]
    with pytest.raises(MigrationError, match=r"1\.1\.0 has no down script.*1\.1\.0_label\.down"):
        discover(make_sql_dir(files))


def test_badly_named_file_is_refused(make_sql_dir: SqlDirFactory) -> None:
    files = dict(TINY_CHAIN)
    files["v2_add_stuff.sql"] = "SELECT 1;"
    with pytest.raises(MigrationError, match=r"'v2_add_stuff\.sql' is not named"):
        discover(make_sql_dir(files))


def test_render_substitutes_integers_and_leaves_casts_alone() -> None:
    text = "CREATE TABLE v (e vector(:vector_dim), j jsonb DEFAULT '[]'::jsonb);"
    assert render(text, {"vector_dim": 8}) == (
        "CREATE TABLE v (e vector(8), j jsonb DEFAULT '[]'::jsonb);"
    )
    assert render("SELECT (:b) -- a:b stays", {"b": 2}) == "SELECT (2) -- a:b stays"
    assert render("SELECT 'a:b'", {"vector_dim": 8}) == "SELECT 'a:b'"


def test_versions_order_numerically() -> None:
    assert Version.parse("2.10.0") > Version.parse("2.9.1")
    with pytest.raises(MigrationError, match=r"version='v3' must look like MAJOR\.MINOR\.PATCH"):
        Version.parse("v3")


def test_description_skips_decoration_lines(make_sql_dir: SqlDirFactory) -> None:
    files = dict(TINY_CHAIN)
    files["1.0.0_things.up.sql"] = (
        "-- ==========================\n--\n-- ---- 1.0.0 ----\n"
        "-- ==== Create things ====\n-- more words\nCREATE TABLE things (id int);\n"
    )
    files["1.1.0_label.up.sql"] = "-- ------\nALTER TABLE things ADD COLUMN label text;\n"
    found = discover(make_sql_dir(files))
    assert found[0].description == "Create things"
    assert found[1].description == "1.1.0_label.up.sql"  # no comment line with a letter


def test_up_and_down_named_differently_says_rename_not_duplicated(
    make_sql_dir: SqlDirFactory,
) -> None:
    files = dict(TINY_CHAIN)
    files["2.0.0_add_cols.up.sql"] = "SELECT 1;"
    files["2.0.0_add_columns.down.sql"] = "SELECT 1;"
    with pytest.raises(MigrationError) as info:
        discover(make_sql_dir(files))
    message = str(info.value)
    assert "2.0.0 has up '2.0.0_add_cols' but down '2.0.0_add_columns'" in message
    assert "rename one so both share the name" in message and "duplicated" not in message


@pytest.mark.parametrize("line", ["\\c otherdb", "\\connect otherdb", "\\! rm -rf /tmp/x"])
def test_a_meta_command_leaving_the_database_is_refused_with_file_and_line(
    make_sql_dir: SqlDirFactory, line: str
) -> None:
    files = dict(TINY_CHAIN)
    files["1.1.0_label.down.sql"] = (
        "-- drop label\nSELECT '\\not a command', E'\\\\n';\n/* \\nor this */\n"
        f"{line}\nALTER TABLE things DROP COLUMN label;\n"
    )
    sql_dir = make_sql_dir(files)
    with pytest.raises(MigrationError) as info:
        discover(sql_dir)
    message = str(info.value)
    assert message.startswith(f"{sql_dir / 'migrations' / '1.1.0_label.down.sql'}:4: ")
    assert f"psql meta-command {line.split()[0]!r} runs" in message


def test_split_follows_psql() -> None:
    text = (
        "-- a comment; not a statement\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql\n"
        "BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END;\n"
        "/* nested /* ; */ ; */ SELECT 'a;''b', E'\\';', \"q;\"\"\", $t$ ; $$ $t$;\n"
        "CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2);\n"
        "DO $$\nBEGIN RAISE NOTICE 'x'; END $$;\n"
        "SELECT 1 -- no semicolon at the end\n"
    )
    statements = [text[s.start:s.end] for s in split(text)]
    assert [s.split()[0] for s in statements] == ["CREATE", "SELECT", "CREATE", "DO", "SELECT"]
    assert statements[0].endswith("SELECT 2; END;")
    assert statements[3] == "DO $$\nBEGIN RAISE NOTICE 'x'; END $$;"
    assert statements[4] == "SELECT 1 -- no semicolon at the end\n"
