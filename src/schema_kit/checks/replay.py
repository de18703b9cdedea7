"""Replay scripts: what ran, then the failing check's query, as one psql file.

A script runs against a fresh database at the version named in its header, migrated from the
sql dir its header names, and ends with the query that returns the violation, so anyone can
see the failure without the harness. There is one file per (check, version): each failure
overwrites it, so after Hypothesis shrinks, it holds the last, minimal example.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from schema_kit.workload.recording import Recorder

__all__ = [
    "replay_command",
    "replay_path",
    "replay_script",
    "write_atomically",
    "write_replay",
]


def replay_script(
    recorder: Recorder, check: str, version: str, vector_dim: int, query: str,
    sql_dir: Path | None = None,
) -> str:
    if sql_dir is not None:
        chain = f"-- chain: sql dir {sql_dir}"
        migrate = f"schema-kit migrate --sql-dir {sql_dir} --vector-dim {vector_dim} --to {version}"
    else:
        chain = "-- chain: sql dir not recorded (the sql_dir the run was configured with)"
        migrate = f"schema-kit migrate --vector-dim {vector_dim} --to {version}"
    lines = [
        f"-- schema_kit replay: invariant '{check}' at schema version {version}",
        chain,
        f"-- Run against a fresh database at {version} of that chain (e.g. `{migrate}`):",
        f"--   psql -v vector_dim={vector_dim} -f THIS_FILE",
        "",
        *recorder.statements(),
        "",
        "-- the violation:",
        query.rstrip().rstrip(";") + ";",
        "",
    ]
    return "\n".join(lines)


def replay_path(directory: Path, check: str, version: str) -> Path:
    """Where the replay of ``check`` at ``version`` goes: one file per (check, version)."""
    return Path(directory) / f"{check}-{version}.sql"


def write_replay(
    directory: Path, recorder: Recorder, check: str, version: str, vector_dim: int, query: str,
    sql_dir: Path | None = None,
) -> Path:
    """Write the script to ``<directory>/<check>-<version>.sql``, replacing an earlier one.

    The replacement is atomic, so a reader (or another pytest-xdist worker writing the same
    check) never sees half a file.
    """
    text = replay_script(recorder, check, version, vector_dim, query, sql_dir)
    return write_atomically(replay_path(directory, check, version), text)


def write_atomically(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temp file and a rename; the resolved path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path.resolve()


def replay_command(path: Path, vector_dim: int) -> str:
    return f"psql -v vector_dim={vector_dim} -f {path}"
