"""Hypothesis profiles: ``ci`` (default: the whole pytest run in about a minute), ``dev``
(quicker, for the edit loop) and ``thorough`` (release verification).

Chosen with ``HYPOTHESIS_PROFILE`` or Hypothesis' own ``--hypothesis-profile`` flag. The example
database lives under the project's pytest cache dir, so failures found once replay first.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

__all__ = ["PROFILES", "STATEFUL_EXAMPLES", "load_profile", "register_profiles"]

# Examples are whole batches over a real server: slow per example, so no deadline, and the
# "too slow" health check would only measure the machine.
_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
PROFILES = {
    "ci": {"max_examples": 15, "stateful_step_count": 12},
    "dev": {"max_examples": 5, "stateful_step_count": 8},
    "thorough": {"max_examples": 300, "stateful_step_count": 25},
}
# A state-machine run is a fresh database and a dozen or more steps, each checked in full:
# it gets fewer runs than a batch property does examples.
STATEFUL_EXAMPLES = {"ci": 7, "dev": 3, "thorough": 40}


def register_profiles(example_dir: Path | None = None) -> None:
    database = DirectoryBasedExampleDatabase(str(example_dir)) if example_dir else None
    for name, values in PROFILES.items():
        extra = {"database": database} if database is not None else {}
        settings.register_profile(name, **_COMMON, **values, **extra)  # type: ignore[arg-type]


def load_profile(explicit: str | None = None) -> str:
    name = explicit or os.environ.get("HYPOTHESIS_PROFILE") or "ci"
    settings.load_profile(name)
    return name
