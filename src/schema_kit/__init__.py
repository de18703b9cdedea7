"""schema_kit: property-based invariant tests for a multi-tenant PostgreSQL schema."""

from __future__ import annotations

from schema_kit.config import Settings, settings_from
from schema_kit.errors import ConfigError, MigrationError, ProvisionError, SchemaKitError

__all__ = [
    "ConfigError",
    "MigrationError",
    "ProvisionError",
    "SchemaKitError",
    "Settings",
    "settings_from",
]

__version__ = "0.1.0"
