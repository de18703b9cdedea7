"""Templates kept on a reused server (``--schema-kit-reuse``), found again by the next run.

A kept template is named by its key (``Templates._key``: the chain's checksums, setup
script, parameters, version and bookkeeping table), ``<prefix>tpl_<first 24 hex digits>``,
and its comment records the whole key and the version, as JSON. It is recorded only once it
is fully migrated and marked a template, so a run killed while building one leaves a
scratch database (the scratch comment), which the next owner's ``sweep`` drops with the
killed run's clones. A chain that changed makes a new key, so a new template; the one it
replaces (same version, other key) is dropped then, so a reused server holds one template
per version, not one per edit.

Only the run that owns the reused server (its slot lock) calls these: nobody else's
databases can be on it.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import psycopg
from psycopg import sql

__all__ = ["KEPT_KIND", "drop", "drop_replaced", "find", "kept_name", "record", "sweep"]

KEPT_KIND = "schema_kit kept template"


def kept_name(prefix: str, key: str) -> str:
    return f"{prefix}tpl_{key[:24]}"


def _ours(admin: psycopg.Connection[Any], prefix: str) -> list[tuple[str, bool, str | None]]:
    """(name, is a template, comment) of each database with the prefix."""
    rows = admin.execute(
        "SELECT datname, datistemplate, shobj_description(oid, 'pg_database') "
        "FROM pg_database WHERE starts_with(datname, %s) ORDER BY datname",
        (prefix,),
    ).fetchall()
    return [(str(name), bool(template), comment) for name, template, comment in rows]


def _meta(comment: str | None) -> dict[str, Any]:
    """A kept template's recorded key and version; {} for any other comment."""
    if not comment or not comment.startswith("{"):
        return {}
    with contextlib.suppress(ValueError):
        meta = json.loads(comment)
        if isinstance(meta, dict) and meta.get("kind") == KEPT_KIND:
            return meta
    return {}


def find(admin: psycopg.Connection[Any], prefix: str, key: str) -> str | None:
    """The kept template of ``key``, if a run built and recorded it. A database of its name
    that is not (a build cut short that ``sweep`` did not see) is dropped, so the name is
    free to build it."""
    name = kept_name(prefix, key)
    for found, template, comment in _ours(admin, prefix):
        if found == name:
            if template and _meta(comment).get("key") == key:
                return name
            drop(admin, name)
    return None


def record(admin: psycopg.Connection[Any], name: str, key: str, version: str | None) -> None:
    """Mark ``name`` (built, a template) as the kept template of ``key``.

    The server runs with synchronous_commit off, so a crash of it (not of the run) loses
    the last commits; this one waits for the WAL, and with it everything before it (the
    build, IS_TEMPLATE), so a restarted server still has the template it recorded.
    """
    comment = json.dumps({"kind": KEPT_KIND, "key": key, "version": version})
    with admin.transaction():
        admin.execute("SET LOCAL synchronous_commit = on")
        admin.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(name), sql.Literal(comment)))


def drop(admin: psycopg.Connection[Any], name: str) -> None:
    # PostgreSQL refuses to drop a template; FORCE ends a dead run's sessions left on it.
    admin.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(
        sql.Identifier(name)))
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
        sql.Identifier(name)))


def drop_replaced(
    admin: psycopg.Connection[Any], prefix: str, version: str | None, key: str
) -> list[str]:
    """Drop the kept templates of ``version`` whose key is not ``key``: the chain (or the
    parameters) changed since they were built. The names dropped."""
    dropped = []
    for name, _template, comment in _ours(admin, prefix):
        meta = _meta(comment)
        if meta and meta.get("version") == version and meta.get("key") != key:
            drop(admin, name)
            dropped.append(name)
    return dropped


def sweep(admin: psycopg.Connection[Any], prefix: str, scratch_comment: str) -> list[str]:
    """Drop what a run that died on this server left: its clones, its templates that are not
    kept, a kept template it did not finish. The names dropped."""
    dropped = []
    for name, _template, comment in _ours(admin, prefix):
        if comment == scratch_comment:
            drop(admin, name)
            dropped.append(name)
    return dropped
