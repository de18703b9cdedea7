"""A session's server, scratch databases and templates, started lazily and closed once."""

from __future__ import annotations

import atexit
import contextlib
from collections.abc import Callable

from schema_kit.config import Settings
from schema_kit.connect import connect
from schema_kit.db import kept
from schema_kit.db.databases import SCRATCH_COMMENT, Database, ScratchDatabases, Templates
from schema_kit.errors import SchemaKitError
from schema_kit.provision import Server, provision

__all__ = ["Harness"]


class Harness:
    """Owns everything the harness starts for one run; ``close()`` removes all of it."""

    def __init__(
        self,
        settings: Settings,
        tag: str | None = None,
        progress: Callable[[str], None] | None = None,
        server: Server | None = None,
        on_start: Callable[[], None] | None = None,
        on_started: Callable[[str], None] | None = None,
        reuse_slot: str | None = None,
    ) -> None:
        """``server``: use a running server (another harness's) instead of starting one.
        ``reuse_slot``: ask for the kept server of that slot (``provision``); where it is
        given, this harness owns it: its templates are kept there, and what a dead run left
        there is dropped first.

        Nothing starts until ``server`` (or what needs it) is first used; ``on_start`` runs
        just before this harness starts a server and ``on_started`` once it answers, with
        ``describe()``: so a caller (the pytest plugin) does its part of the start, a signal
        handler and a line naming the server, only in runs that start one.
        """
        self.settings = settings
        self.tag = tag
        self.progress = progress
        self._on_start = on_start
        self._on_started = on_started
        self._stack = contextlib.ExitStack()
        self._server: Server | None = server
        self._reuse_slot = reuse_slot
        self._owns_reused = False
        self._scratch: ScratchDatabases | None = None
        self._templates: Templates | None = None
        self._error: SchemaKitError | None = None
        self.server_version = ""
        atexit.register(self.close)

    @property
    def server(self) -> Server:
        if self._error is not None:
            raise self._error
        started = self._server is None
        if self._server is None:
            if self._on_start is not None:
                self._on_start()
            try:
                self._server = self._stack.enter_context(
                    provision(self.settings, self._reuse_slot))
                self._owns_reused = self._server.reused
                if self._owns_reused:  # what a killed run left there would stay for good
                    with connect(self._server.dsn, autocommit=True) as conn:
                        kept.sweep(conn, self.settings.db_prefix, SCRATCH_COMMENT)
            except SchemaKitError as exc:
                self._error = exc
                self.close()
                raise
        if not self.server_version:
            with connect(self._server.dsn, autocommit=True) as conn:
                row = conn.execute("SHOW server_version").fetchone()
            self.server_version = row[0] if row else "?"
        described = self.describe()
        if started and self._on_started is not None and described is not None:
            self._on_started(described)
        return self._server

    def describe(self) -> str | None:
        """The running server in one line, or None where none was started."""
        if self._server is None or not self.server_version:
            return None
        server = self._server
        storage = f" ({server.storage})" if server.storage else ""
        note = f", {server.note}" if server.note else ""
        return (
            f"backend={server.backend} (asked: {self.settings.backend}), "
            f"PostgreSQL {self.server_version}, {server.detail}{storage}{note}"
        )

    @property
    def scratch(self) -> ScratchDatabases:
        if self._scratch is None:
            self._scratch = ScratchDatabases(self.server, self.settings.db_prefix, self.tag)
        return self._scratch

    @property
    def params(self) -> dict[str, int | str]:
        return self.settings.migration_params

    @property
    def templates(self) -> Templates:
        if self._templates is None:
            self._templates = Templates(
                self.scratch, self.settings.sql_dir, self.params, self.progress,
                self.settings.migrations_table, keep=self._owns_reused,
            )
        return self._templates

    def database(self, version: str | None = "head") -> Database:
        return self.templates.clone(version)

    def close(self) -> None:
        """Drop our databases, stop the server; safe to call twice and from atexit."""
        try:
            if self._scratch is not None:
                self._scratch.close()
        finally:
            self._scratch = None
            self._templates = None
            self._stack.close()
            self._server = None
            atexit.unregister(self.close)
