"""A schedule written for people: an isolation-tester spec anyone can run, read back into a
schedule, and a plain listing of the steps as issued and of each session's."""

from __future__ import annotations

import re
from collections.abc import Sequence

import psycopg

from schema_kit.workload.schedules import ISOLATIONS, Schedule, Step

__all__ = ["from_spec", "listing", "to_spec"]


def _statement(step: Step, conn: psycopg.Connection[object], vector_dim: int) -> str:
    op = step.operation(vector_dim)
    if op is None:
        return step.describe()
    query, params = op.query()
    return psycopg.ClientCursor(conn).mogrify(query, params)


def to_spec(
    schedule: Schedule, conn: psycopg.Connection[object], version: str, vector_dim: int,
    comment: Sequence[str] = (),
) -> str:
    """The schedule as an isolation-tester spec (``src/test/isolation`` format): a session
    block per session, one named step per statement, and the permutation as issued."""
    lines = [f"# schema_kit schedule, run against a database migrated to {version}"]
    lines += [f"# {c}" for c in comment]
    names = dict.fromkeys(range(len(schedule.sessions)), 0)
    steps: dict[int, list[str]] = {n: [] for n in names}
    for name, step in schedule.issued():
        steps[step.session].append(
            f"step {name} {{ {_statement(step, conn, vector_dim)}; }}")
    for n, block in steps.items():
        # Each session checks for a deadlock after 10 ms, as the harness ran it: the one
        # whose step closes a cycle is the victim.
        lines += ["", f"session s{n + 1}", "setup { SET deadlock_timeout = '10ms'; }", *block]
    lines += ["", "permutation " + " ".join(name for name, _ in schedule.issued()), ""]
    return "\n".join(lines)


def listing(schedule: Schedule, results: Sequence[str] = ()) -> str:
    """The steps as issued (with each one's result when given), then each session's steps."""
    lines = ["as issued:"]
    for n, (name, step) in enumerate(schedule.issued()):
        result = f"  -> {results[n]}" if n < len(results) else ""
        lines.append(f"  {n + 1:>2}. {name:<6} {step.describe()}{result}")
    for n, steps in enumerate(schedule.sessions):
        lines.append(f"session s{n + 1}: " + "; ".join(s.describe() for s in steps))
    return "\n".join(lines)


_SPEC_STEP = re.compile(r"step (\S+) \{ (.*?);? \}")


def from_spec(text: str) -> Schedule:
    """The schedule a spec written by ``to_spec`` describes: its statements as ``sql`` steps
    (BEGIN, COMMIT and ROLLBACK as themselves) and its permutation as the order."""
    sessions: list[list[Step]] = []
    owner: dict[str, int] = {}
    names: list[list[str]] = []
    permutation: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line.startswith("session "):
            sessions.append([])
            names.append([])
        elif line.startswith("step "):
            match = _SPEC_STEP.fullmatch(line)
            if match is None or not sessions:
                raise ValueError(f"spec line {number} is not a step of a session: {line!r}")
            name, statement = match.groups()
            n = len(sessions) - 1
            word = statement.strip().upper()
            level = word.removeprefix("BEGIN ISOLATION LEVEL ").lower()
            if word in ("BEGIN", "COMMIT", "ROLLBACK"):
                sessions[n].append(Step(n, word.lower()))
            elif level in ISOLATIONS:
                sessions[n].append(Step(n, "begin", target=level))
            else:
                sessions[n].append(Step(n, "sql", target=statement))
            owner[name] = n
            names[n].append(name)
        elif line.startswith("permutation "):
            permutation = line.split()[1:]
    unknown = [p for p in permutation if p not in owner]
    if unknown or not permutation:
        raise ValueError(f"the spec's permutation {permutation!r} names unknown steps "
                         f"{unknown!r}" if unknown else "the spec has no permutation line")
    for n, listed in enumerate(names):
        if [p for p in permutation if owner[p] == n] != listed:
            raise ValueError(f"session s{n + 1}'s steps must appear in the permutation in the "
                             f"order listed: {listed!r}")
    return Schedule(tuple(tuple(s) for s in sessions), tuple(owner[p] for p in permutation))
