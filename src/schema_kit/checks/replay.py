"""Replay scripts: what ran, then the failing check's query, as one psql file.

A script runs against a fresh database at the version named in its header and ends with the
query that returns the violation, so anyone can see the failure without the harness.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from schema_kit.workload.recording import Recorder

__all__ = ["replay_command", "replay_script", "write_replay"]


def replay_script(
    recorder: Recorder, check: str, version: str, vector_dim: int, query: str
) -> str:
    lines = [
        f"-- schema_kit replay: invariant '{check}' at schema version {version}",
        f"-- Run against a fresh database at {version} (e.g. `schema-kit migrate --to "
        f"{version}`):",
        f"--   psql -v vector_dim={vector_dim} -f THIS_FILE",
        "",
        *recorder.statements(),
        "",
        "-- the violation:",
        query.rstrip().rstrip(";") + ";",
        "",
    ]
    return "\n".join(lines)


def write_replay(
    directory: Path, recorder: Recorder, check: str, version: str, vector_dim: int, query: str
) -> Path:
    """Write the script under ``directory``; the name carries check, version and a digest."""
    text = replay_script(recorder, check, version, vector_dim, query)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = Path(directory) / f"{check}-{version}-{digest}.sql"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path.resolve()


def replay_command(path: Path, vector_dim: int) -> str:
    return f"psql -v vector_dim={vector_dim} -f {path}"
