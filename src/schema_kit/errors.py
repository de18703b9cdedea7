"""The exception hierarchy: every error the harness raises on purpose is a SchemaKitError.

Each message says what went wrong, the value that caused it, and what to do about it, so
the CLI can print it as one line and exit 2 instead of showing a traceback.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "MigrationError",
    "ProvisionError",
    "SchemaKitError",
]


class SchemaKitError(Exception):
    """Root of every deliberate schema_kit error."""


class ConfigError(SchemaKitError):
    """An option has a value the harness cannot use."""


class ProvisionError(SchemaKitError):
    """No PostgreSQL server could be started or reached."""


class MigrationError(SchemaKitError):
    """The migrations directory is malformed, tampered with, or a migration failed."""
