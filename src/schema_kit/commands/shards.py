"""``verify --shard K/N``: a run's units of work, and which of them shard K of N runs.

A unit is one line of the report: a registered check on the chain at head, the data checks
at one version on the way to head, or one Hypothesis seed of a property (a property split
into S seeds is S independent Hypothesis runs, each with 1/S of the profile's examples,
rounded up, and its own random seed; all of them replay from, and save to, the one example
database key of that property). Unsharded, S is 1; with ``--shard K/N``, S is N, so each
property's examples are spread over every machine.

Assignment: the units in the order verify runs them, dealt round-robin: unit i (from 0)
belongs to shard (i mod N) + 1. It depends on nothing but the unit list, which each shard
computes from the same chain, profile and selection, so N machines need not talk to each
other; the N seeds of a property are consecutive, so they land on N different shards. Every
shard also applies the chain first ("chain applies"): it is a prerequisite, not a unit.

Each report.json records the shard, the total unit list and the chain's digest (migrations,
down scripts, setup.sql, migration parameters), so ``report-merge`` can refuse shards that
are missing, duplicated, or of another chain.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from schema_kit.checks import Registry
from schema_kit.db.databases import SETUP_SCRIPT
from schema_kit.db.migrations import discover
from schema_kit.errors import ConfigError

__all__ = [
    "PREREQUISITES",
    "STATEFUL",
    "Shard",
    "chain_digest",
    "property_unit",
    "seed_examples",
    "units",
]

PREREQUISITES = ("chain applies",)
STATEFUL = "stateful workload"


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (1-based); ``Shard(1, 1)`` is the whole run."""

    index: int = 1
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if match is None or not 1 <= int(match[1]) <= int(match[2]):
            raise ConfigError(
                f"--shard {text!r} must be K/N with 1 <= K <= N, e.g. --shard 1/4 on the "
                "first of 4 machines (then `schema-kit report-merge` joins their reports)"
            )
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def mine(self, names: Sequence[str]) -> list[str]:
        """The units of ``names`` (in run order) this shard runs: round-robin."""
        return [n for i, n in enumerate(names) if i % self.count == self.index - 1]


def property_unit(name: str, seed: int, seeds: int) -> str:
    """A property seed's unit name: ``extraction (property)`` alone, else with its seed."""
    return f"{name} (property)" if seeds == 1 else f"{name} (property, seed {seed}/{seeds})"


def seed_examples(examples: int, seeds: int) -> int:
    """A seed's share of a profile's ``examples``, rounded up (the seeds run at least as
    many examples together as one run would)."""
    return max(1, math.ceil(examples / seeds))


def units(registry: Registry, below_head: Sequence[str], seeds: int) -> list[str]:
    """Every unit of a verify run over ``registry``, in run order: the checks at head, the
    data checks at each version ``below_head``, each property's seeds, the stateful
    workload's seeds."""
    names = [c.name for c in registry]
    names += [f"data checks at {v}" for v in below_head]
    for check in registry.properties():
        names += [property_unit(check.name, s, seeds) for s in range(1, seeds + 1)]
    if registry.over_writes():
        names += [property_unit(STATEFUL, s, seeds) for s in range(1, seeds + 1)]
    return names


def chain_digest(sql_dir: Path, params: dict[str, int | str]) -> str:
    """sha256 of what makes a chain: each migration's version, up and down script, the
    setup script, the migration parameters. The same chain checked out elsewhere (another
    path) has the same digest."""
    digest = hashlib.sha256()
    for migration in discover(sql_dir):
        digest.update(f"{migration.version}\0{migration.checksum}\0".encode())
        digest.update(migration.down_path.read_bytes())
    setup = Path(sql_dir) / SETUP_SCRIPT
    if setup.is_file():
        digest.update(setup.read_bytes())
    digest.update(repr(sorted(params.items())).encode())
    return digest.hexdigest()
