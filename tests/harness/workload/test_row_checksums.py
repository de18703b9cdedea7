"""Row checksums and the writers' rows: what the upgrade under load calls a lost row."""

from __future__ import annotations

from collections.abc import Callable

from psycopg import sql

from schema_kit.db.databases import Database
from schema_kit.workload.row_checksums import checksums, data_columns, lost, writer_rows

TABLES = ("lightrag_doc_full", "lightrag_doc_chunks")


def test_a_changed_or_deleted_row_changes_the_checksum_and_is_named(
    schema_kit_db_factory: Callable[..., Database],
) -> None:
    db = schema_kit_db_factory("head")
    with db.connect() as conn:
        for table in TABLES:
            conn.execute(sql.SQL(
                "INSERT INTO {} (workspace, id, content) SELECT 'acme:kb', 'r' || g, "
                "'text ' || g FROM generate_series(1, 5) g").format(sql.Identifier(table)))
        conn.execute("INSERT INTO lightrag_doc_full (workspace, id, content) "
                     "VALUES ('acme:kb', 'ul-w0-1', 'a writer''s row')")
        conn.commit()
        columns = data_columns(conn, TABLES)
        assert "tenant_id" not in columns["lightrag_doc_full"]  # generated: not data
        assert {"workspace", "id", "content"} <= set(columns["lightrag_doc_full"])
        before = checksums(conn, columns, {})
        assert before["lightrag_doc_full"][0] == 5  # the writer's row is not pre-loaded
        # A writer's row changing is not a pre-loaded row changing.
        conn.execute("UPDATE lightrag_doc_full SET content = 'x' WHERE id = 'ul-w0-1'")
        conn.commit()
        assert checksums(conn, columns, {}) == before
        conn.execute("UPDATE lightrag_doc_full SET content = 'changed' WHERE id = 'r3'")
        conn.execute("DELETE FROM lightrag_doc_chunks WHERE id = 'r1'")
        conn.commit()
        after = checksums(conn, columns, {})
        stored = writer_rows(conn, {t: t for t in TABLES})
    assert after["lightrag_doc_full"][0] == 5 and after["lightrag_doc_full"] != before[
        "lightrag_doc_full"]
    assert after["lightrag_doc_chunks"][0] == 4
    assert stored == {("lightrag_doc_full", "acme:kb", "ul-w0-1")}
    expected = {("lightrag_doc_chunks", "acme:kb", "ul-w1-9")}
    found = lost(before, after, expected, stored)
    assert [what for what, _ in found] == [
        "pre-loaded rows differ", "pre-loaded rows differ", "committed row missing",
        "row present that no commit left"]
    assert found[1][1].startswith("lightrag_doc_chunks: 5 rows")
