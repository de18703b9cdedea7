"""LightRAG itself as the client: its PostgreSQL storages, offline, against a scratch database.

Nothing reaches the network: the embedding is a hash-seeded unit vector, the LLM answers
extraction prompts with a fixed parseable record list, and the tokenizer counts characters
(LightRAG's default tokenizer downloads its encoding at run time). LightRAG reads its
connection from POSTGRES_* variables and config.ini/.env in the working directory, so
``lightrag_env`` runs it from an empty temp dir with exactly the variables it needs.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg import conninfo, sql

from schema_kit.checks import REGISTRY, DataTarget
from schema_kit.workload.oracle import Model, parse
from schema_kit.workload.tables import tenant_tables

MODEL_NAME = "fake-hash-embed"
WORKSPACES = ("acme:kb1", "acme:kb2", "globex:main")
_DELIM = "<|#|>"  # LightRAG 1.5's field separator in extraction answers


def suffix_for(model_name: str, dim: int) -> str:
    """The table suffix LightRAG derives from an embedding model: lowercase, [a-z0-9_], dim."""
    return re.sub(r"[^a-z0-9_]", "_", model_name.lower()) + f"_{dim}d"


@contextlib.contextmanager
def lightrag_env(dsn: str, workdir: Path) -> Iterator[None]:
    """POSTGRES_* for ``dsn`` and an empty working directory, restored afterwards."""
    info = conninfo.conninfo_to_dict(dsn)
    env = {
        "POSTGRES_HOST": str(info.get("host") or "localhost"),
        "POSTGRES_PORT": str(info.get("port") or 5432),
        "POSTGRES_USER": str(info.get("user") or "postgres"),
        # LightRAG wants the variable set even for a trust/socket login.
        "POSTGRES_PASSWORD": str(info.get("password") or ""),
        "POSTGRES_DATABASE": str(info["dbname"]),
    }
    saved = {k: os.environ.get(k) for k in [*env, "POSTGRES_WORKSPACE"]}
    cwd = Path.cwd()
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.update(env)
    # Set, it would override the workspace of every storage in the process.
    os.environ.pop("POSTGRES_WORKSPACE", None)
    os.chdir(workdir)
    try:
        yield
    finally:
        os.chdir(cwd)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _unit_vector(text: str, dim: int) -> Any:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return vector / np.linalg.norm(vector)


async def _fake_llm(prompt: str, system_prompt: str | None = None, **_: Any) -> str:
    """Answers an extraction prompt with entities (capitalised words) and their links."""
    text = f"{system_prompt or ''}\n{prompt}"
    found = re.search(r"---Input Text---\s*```(.*?)```", text, re.S)
    if found:
        names = list(dict.fromkeys(re.findall(r"\b[A-Z][a-z]+\b", found[1])))[:3]
        records = [_DELIM.join(["entity", n, "Concept", f"{n} appears in the text."])
                   for n in names]
        records += [_DELIM.join(["relation", a, b, "co-occurrence", f"{a} is near {b}."])
                    for a, b in itertools.pairwise(names)]
        return "\n".join([*records, "<|COMPLETE|>"])
    if "Based on the last extraction task" in text:  # the gleaning pass: nothing more
        return "<|COMPLETE|>"
    return "offline answer"


class _CharCodec:
    def encode(self, text: str, **_: Any) -> list[int]:
        return [ord(c) for c in text]

    def decode(self, tokens: Sequence[int]) -> str:
        return "".join(chr(t) for t in tokens)


def make_rag(workdir: Path, workspace: str, dim: int, model_name: str | None) -> Any:
    """A LightRAG on PostgreSQL KV, vector and doc-status storages (graph: NetworkX files).

    ``model_name=None`` is the pre-1.5 naming: plain LIGHTRAG_VDB_* tables.
    """
    from lightrag import LightRAG
    from lightrag.utils import EmbeddingFunc, Tokenizer

    async def embed(texts: list[str], **_: Any) -> Any:
        return np.array([_unit_vector(t, dim) for t in texts])

    return LightRAG(
        working_dir=str(workdir),
        workspace=workspace,
        kv_storage="PGKVStorage",
        vector_storage="PGVectorStorage",
        doc_status_storage="PGDocStatusStorage",
        graph_storage="NetworkXStorage",
        llm_model_func=_fake_llm,
        embedding_func=EmbeddingFunc(embedding_dim=dim, func=embed, max_token_size=8192,
                                     model_name=model_name),
        tokenizer=Tokenizer("char", _CharCodec()),
        # Random vectors are far apart: every chunk must pass the similarity cut.
        cosine_better_than_threshold=-1.0,
    )


async def release_shared_pool() -> None:
    """Close LightRAG's process-wide connection pool if a failed start-up left it open.

    A storage that fails in ``initialize_storages`` keeps its reference to the shared pool,
    which would then serve the next test's LightRAG from this test's (dropped) database.
    """
    from lightrag.kg.postgres_impl import ClientManager

    db = ClientManager._instances["db"]
    while db is not None and ClientManager._instances["db"] is db:
        await ClientManager.release_client(db)


def document(workspace: str, n: int) -> str:
    """A document whose text names its workspace, so a query's context shows its origin."""
    tenant, _, kb = workspace.partition(":")
    return (f"Marker {tenant}-{kb}-doc{n}. Acme Corporation builds the Widget line in "
            f"Springfield; Globex Industries buys widgets from Acme for {kb}.")


async def context_of(rag: Any, question: str) -> str:
    from lightrag import QueryParam

    param = QueryParam(mode="naive", only_need_context=True, chunk_top_k=50)
    return str(await rag.aquery(question, param=param))


def markers(text: str) -> set[str]:
    return set(re.findall(r"Marker ([\w-]+-doc\d+)\.", text))


def rows_per_table(conn: psycopg.Connection[Any]) -> dict[str, dict[str, int]]:
    """``{table: {workspace: rows}}`` over every table with a workspace column."""
    tables = [r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
        "WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace "
        "AND a.attname = 'workspace' AND NOT a.attisdropped ORDER BY 1").fetchall()]
    out: dict[str, dict[str, int]] = {}
    for table in tables:
        counts = conn.execute(sql.SQL(
            "SELECT workspace, count(*) FROM {} GROUP BY 1 ORDER BY 1"
        ).format(sql.Identifier(table))).fetchall()
        out[table] = {str(w): int(n) for w, n in counts}
    return out


def check_invariants(conn: psycopg.Connection[Any], workspaces: Sequence[str]) -> None:
    """The harness's own checks (the Hypothesis suite's and audit's) over LightRAG's rows.

    The oracle's registry is the workspaces LightRAG was given; its rows are what LightRAG
    left, each filed under the oracle's parse of its workspace.
    """
    tables = tenant_tables(conn)
    model = Model()
    for w in workspaces:
        partition = parse(w)
        assert partition is not None, w
        model.tenants.add(partition.tenant_id)
        model.kbs.add(partition)
    query = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {}, workspace::text, id::text FROM {}").format(
            sql.Literal(t), sql.Identifier(t)) for t in tables)
    for table, workspace, row_id in conn.execute(query).fetchall():
        assert workspace in workspaces, f"{table} holds a row of {workspace!r}"
        model.upsert(table, [(workspace, row_id)])
    target = DataTarget(conn, tables, model, frozenset(workspaces))
    for check in REGISTRY.over_writes():
        found = check.run(target)
        assert found == [], f"{check.name}: {found}"
    conn.rollback()
