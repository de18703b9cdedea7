"""Fixtures of the command tests."""

from __future__ import annotations

import pytest

from schema_kit.config import Settings
from schema_kit.db import harness as harness_module
from schema_kit.db.harness import Harness


@pytest.fixture
def reference_on_the_session_server(
    schema_kit_harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``schema-kit audit`` builds its reference catalogs on the session's server instead of
    starting one of its own (the CLI path is the same; only the server is shared)."""

    class Reference:
        def __init__(self, settings: Settings) -> None:
            self.templates = schema_kit_harness.templates

        def close(self) -> None:
            pass

    monkeypatch.setattr(harness_module, "Harness", Reference)
