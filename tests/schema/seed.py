"""The seed's 3.0.0 defects, each a strict xfail naming the invariant and the counterexample.

One helper for every test that runs at the seed and at head, so a defect is described once.
"""

from __future__ import annotations

from typing import Any

import pytest

from schema_kit.checks import InvariantError

SEED = "3.0.0"
# The seed's version and its defects exist only in our chain: on another sql_dir these params
# are skipped, and that chain's defects are plain failures with their counterexamples.
OUR_CHAIN = pytest.mark.our_chain
SEED_DEFECTS = {
    "extraction": "'a:b:c' gets kb_id 'b' (oracle: 'b:c'): SPLIT_PART drops the rest",
    "registration": "a row in 'a:' is stored with tenant 'a', kb '' and never registered; "
    "':b' registers the empty tenant ''",
    "isolation": "'a:b' and 'a:b:c' (and 'x' and 'x:default') share the partition "
    "('a', 'b')",
    "bad_input": "'legacy', 'a:' and ':b' are stored instead of refused",
    "access": "a public tenant grants 'owner' to a non-member, and a member passes an "
    "unknown required role ('superuser')",
    "deleted tenant": "deleting tenant 'acme' leaves its rows behind, unregistered, and the "
    "next write to 'acme:kb2' registers 'acme' again",
    "schedules": "registration deadlocks: s1 upserts 't1:kb1' then 't2:kb1', s2 't2:kb1' then "
    "'t1:kb1', interleaved step by step; s2's second step is the victim (40P01), and with t1 "
    "and t2 registered beforehand both commit",
    "stateful": "under LightRAG's operations, e.g. upsert of 'a:' leaves an unregistered row; "
    "deleting a tenant leaves its rows and the next write re-registers it",
}


def seed_xfail(defect: str, raises: type[BaseException] = InvariantError) -> Any:
    """The strict xfail mark for the seed's ``defect`` (a key of SEED_DEFECTS)."""
    return pytest.mark.xfail(
        strict=True, raises=raises, reason=f"seed defect ({defect}): {SEED_DEFECTS[defect]}"
    )


def seed_and_head(defect: str | None, raises: type[BaseException] = InvariantError) -> list[Any]:
    """``[seed, head]`` params; the seed one is a strict xfail when it has ``defect``."""
    marks = [OUR_CHAIN, *([seed_xfail(defect, raises)] if defect in SEED_DEFECTS else [])]
    return [pytest.param(SEED, id=f"seed-{SEED}", marks=marks), pytest.param("head", id="head")]
