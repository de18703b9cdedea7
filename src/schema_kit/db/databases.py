"""Scratch databases: a migrated template per (sql dir, version), and cheap clones of it.

Every database the harness creates carries its prefix and a comment naming schema_kit, and is
dropped only by the process that created it, so on a shared server (the dsn backend) nothing
else is ever touched.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from schema_kit.config import DEFAULT_MIGRATIONS_TABLE
from schema_kit.connect import connect, dsn_for
from schema_kit.db import kept
from schema_kit.db.migrations import Migrator, apply_script, discover
from schema_kit.errors import SchemaKitError
from schema_kit.provision.base import Server

__all__ = ["SCRATCH_COMMENT", "SETUP_SCRIPT", "Database", "ScratchDatabases", "Templates"]

SCRATCH_COMMENT = "schema_kit scratch database"
SETUP_SCRIPT = "setup.sql"


@dataclass(frozen=True)
class Database:
    """A database a test may do anything to."""

    name: str
    dsn: str
    version: str | None

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        return connect(self.dsn, **kwargs)


class ScratchDatabases:
    """Creates, clones and drops the harness's own databases on one server."""

    def __init__(self, server: Server, prefix: str, tag: str | None = None) -> None:
        self.server = server
        self.prefix = prefix
        self.tag = tag or f"p{os.getpid()}"
        self._counter = itertools.count(1)
        self._created: list[str] = []
        self._marked: set[str] = set()  # the templates among them
        self._admin: psycopg.Connection[Any] | None = None

    @property
    def admin(self) -> psycopg.Connection[Any]:
        # A Ctrl-C that lands mid-query leaves the connection ACTIVE with a result unread
        # ("another command is already in progress"); cleanup then needs a fresh one.
        admin = self._admin
        if admin is None or admin.closed or admin.info.transaction_status != TransactionStatus.IDLE:
            if admin is not None:
                admin.close()
            admin = self._admin = connect(self.server.dsn, autocommit=True)
        return admin

    def new_name(self, purpose: str) -> str:
        name = f"{self.prefix}{purpose}_{self.tag}_{next(self._counter)}"
        if len(name) > 63:
            raise SchemaKitError(f"database name {name!r} is longer than PostgreSQL's 63 bytes")
        return name

    def create(self, purpose: str, template: str | None = None, name: str | None = None) -> str:
        """A new database of ours (``name``: that name, else a fresh one for ``purpose``)."""
        name = name or self.new_name(purpose)
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            # A template is marked ALLOW_CONNECTIONS false (``mark_template``): nobody can be
            # connected to it, so a clone never terminates anyone first.
            query = sql.SQL("{} TEMPLATE {}").format(query, sql.Identifier(template))
        # Recorded first: if the CREATE is interrupted after the server did it, close() still
        # drops it (DROP ... IF EXISTS covers the case where it was not).
        self._created.append(name)
        self.admin.execute(query)
        self.admin.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(SCRATCH_COMMENT)
            )
        )
        return name

    def mark_template(self, name: str) -> None:
        """Make ``name`` (one of ours, fully built) a template: IS_TEMPLATE, no connections.

        The connections that exist when connections are switched off are ended once here, so
        every later clone finds the template free.
        """
        self._ours(name, "mark as a template")
        self._marked.add(name)
        self.admin.execute(
            sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(
                sql.Identifier(name))
        )
        self.admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )

    def keep(self, name: str) -> None:
        """Leave ``name`` (one of ours) on the server past ``close``: a kept template of a
        reused server. It is no longer ours to drop, here or by ``drop``."""
        self._ours(name, "keep")
        self._created.remove(name)
        self._marked.discard(name)

    def _ours(self, name: str, what: str) -> None:
        if name not in self._created:
            raise SchemaKitError(
                f"refusing to {what} database {name!r}: this harness did not create it"
            )

    def drop(self, name: str) -> None:
        self._ours(name, "drop")
        if name in self._marked:  # PostgreSQL refuses to drop a template database
            self.admin.execute(
                sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(sql.Identifier(name))
            )
            self._marked.discard(name)
        self.admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        self._created.remove(name)

    def dsn(self, name: str) -> str:
        return dsn_for(self.server.dsn, name)

    def close(self) -> None:
        """Drop every database this object created, then close the admin connection."""
        try:
            for name in reversed(list(self._created)):
                self.drop(name)
        finally:
            if self._admin is not None:
                self._admin.close()
                self._admin = None


class Templates:
    """One migrated template per version; tests get clones, not re-migrations."""

    def __init__(
        self,
        scratch: ScratchDatabases,
        sql_dir: Path,
        params: dict[str, int | str],
        progress: Callable[[str], None] | None = None,
        table: str = DEFAULT_MIGRATIONS_TABLE,
        keep: bool = False,
    ) -> None:
        """``keep``: the server is reused and this run owns it; templates are kept on it and
        found again by key (``db.kept``) instead of built for this run alone."""
        self.scratch = scratch
        self.keep = keep
        self.table = table  # the bookkeeping table the migrator keeps in every database
        self.sql_dir = Path(sql_dir)
        self.params = params
        self.progress = progress
        self._templates: dict[str, str] = {}

    def _key(self, version: str | None) -> str:
        migrations = discover(self.sql_dir)
        digest = hashlib.sha256()
        for m in migrations:
            digest.update(m.checksum.encode())
            digest.update(m.down_path.read_bytes())
        if self.setup_script is not None:
            digest.update(self.setup_script.read_bytes())
        digest.update(repr((sorted(self.params.items()), version, self.table)).encode())
        return digest.hexdigest()

    @property
    def setup_script(self) -> Path | None:
        """``setup.sql`` beside ``migrations/``: what the chain assumes exists (roles,
        extension shims), run as superuser on every scratch database before the chain."""
        path = self.sql_dir / SETUP_SCRIPT
        return path if path.is_file() else None

    def migrator(self, conn: psycopg.Connection[Any]) -> Migrator:
        """A migrator of this chain for ``conn``, with this run's parameters and bookkeeping."""
        return Migrator(conn, discover(self.sql_dir), self.params, self.table)

    def prepare(self, conn: psycopg.Connection[Any]) -> None:
        """Run the setup script (if the sql dir has one) on a fresh scratch database."""
        script = self.setup_script
        if script is not None:
            apply_script(conn, script, self.params)

    def template(self, version: str | None = "head") -> str:
        key = self._key(version)
        if key not in self._templates:
            if self.keep:
                self._templates[key] = self._kept(key, version)
            else:
                self._templates[key] = self._build(self.scratch.create("tpl"), version)
        return self._templates[key]

    def _build(self, name: str, version: str | None) -> str:
        with connect(self.scratch.dsn(name)) as conn:
            self.prepare(conn)
            self.migrator(conn).migrate(version or "base", progress=self.progress)
        self.scratch.mark_template(name)
        return name

    def _kept(self, key: str, version: str | None) -> str:
        """The reused server's template of ``key``: found, or built, recorded and kept, the
        one it replaces (same version, older chain) dropped."""
        admin, prefix = self.scratch.admin, self.scratch.prefix
        found = kept.find(admin, prefix, key)
        if found is not None:
            return found
        name = self._build(self.scratch.create("tpl", name=kept.kept_name(prefix, key)), version)
        self.scratch.keep(name)
        kept.record(admin, name, key, version)
        kept.drop_replaced(admin, prefix, version, key)
        return name

    def clone(self, version: str | None = "head", purpose: str = "db") -> Database:
        name = self.scratch.create(purpose, template=self.template(version))
        return Database(name, self.scratch.dsn(name), version)

    @contextmanager
    def database(self, version: str | None = "head") -> Iterator[Database]:
        db = self.clone(version)
        try:
            yield db
        finally:
            self.scratch.drop(db.name)
