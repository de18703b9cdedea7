"""Schedules as data: the strategy's shape and validation, the interleaving, the spec round
trip. No database: what runs them is tests/schema/test_schedules.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schema_kit.workload.schedule_spec import from_spec, listing
from schema_kit.workload.schedules import (
    ACTIONS,
    PROBES,
    Schedule,
    Step,
    schedules,
)


@settings(max_examples=60, database=None, deadline=None)
@given(schedules(min_sessions=2, max_sessions=6))
def test_drawn_sessions_are_transactions_and_the_order_issues_every_step_once(
    schedule: Schedule,
) -> None:
    assert 2 <= len(schedule.sessions) <= 6
    for n, steps in enumerate(schedule.sessions):
        assert {s.session for s in steps} == {n}
        # BEGIN, then writes, then COMMIT or ROLLBACK, as often as it has transactions.
        ends = [i for i, s in enumerate(steps) if s.action in ("commit", "rollback")]
        begins = [i for i, s in enumerate(steps) if s.action == "begin"]
        assert begins[0] == 0 and ends[-1] == len(steps) - 1 and len(begins) == len(ends)
        assert all(b == e + 1 for b, e in zip(begins[1:], ends, strict=False))
        assert all(s.operation() is not None for s in steps
                   if s.action not in ("begin", "commit", "rollback"))
    issued = list(schedule.issued())
    assert len(issued) == sum(len(s) for s in schedule.sessions)
    assert len({name for name, _ in issued}) == len(issued)


@given(st.data())
@settings(max_examples=30, database=None, deadline=None)
def test_a_strategy_restricted_to_some_actions_draws_only_those(data: st.DataObject) -> None:
    actions = data.draw(st.lists(st.sampled_from(ACTIONS), min_size=1, unique=True))
    schedule = data.draw(schedules(actions=actions, tenants=("t1",), kbs=("kb2",)))
    writes = [s for steps in schedule.sessions for s in steps
              if s.action not in ("begin", "commit", "rollback")]
    assert {s.action for s in writes} <= set(actions)
    assert all(s.workspace in ("", "t1:kb2") and s.tenant in ("", "t1") for s in writes)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_sessions": 7}, "max_sessions=7 must be <= 6"),
    ({"min_sessions": 3, "max_sessions": 2}, "min_sessions=3 must be >= 1 and <= max_sessions=2"),
    ({"actions": ("truncate",)}, "actions=('truncate',) must be drawn from"),
    ({"tenants": ("acme",)}, "tenants=('acme',) and kbs=('kb1', 'kb2') must be non-empty"),
    ({"max_ops": 0}, "max_transactions=2 and max_ops=0 must be >= 1"),
    ({"isolations": ("read uncommitted",)}, "isolations=('read uncommitted',) must be"),
])
def test_bad_strategy_arguments_name_the_argument_and_value(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        schedules(**kwargs)  # type: ignore[arg-type]


def test_an_order_that_does_not_issue_each_step_once_is_refused() -> None:
    steps = (Step(0, "begin"), Step(0, "commit"))
    with pytest.raises(ValueError, match=r"order=\(0,\) must issue each session's steps"):
        Schedule((steps,), (0,))


def test_issued_names_follow_each_session_and_the_listing_shows_results() -> None:
    probe = PROBES[0]
    assert [n for n, _ in probe.issued()] == [
        "s1_1", "s2_1", "s1_2", "s2_2", "s1_3", "s2_3", "s1_4", "s2_4"]
    text = listing(probe, ["ok"] * 5 + ["40P01: deadlock detected"])
    assert "   6. s2_3   upsert (r2) into lightrag_doc_full 't1:kb1'  -> 40P01" in text
    assert text.splitlines()[-1].startswith("session s2: BEGIN; upsert (r2)")


def test_a_spec_reads_back_as_the_same_interleaving() -> None:
    spec = "\n".join([
        "# comment", "session s1", "setup { SET deadlock_timeout = '10ms'; }",
        "step s1_1 { BEGIN; }", "step s1_2 { INSERT INTO t VALUES (1); }", "step s1_3 { COMMIT; }",
        "session s2", "step s2_1 { BEGIN ISOLATION LEVEL REPEATABLE READ; }",
        "step s2_2 { ROLLBACK; }",
        "permutation s1_1 s2_1 s1_2 s2_2 s1_3",
    ])
    schedule = from_spec(spec)
    assert schedule.order == (0, 1, 0, 1, 0)
    assert [s.action for s in schedule.sessions[0]] == ["begin", "sql", "commit"]
    assert schedule.sessions[0][1].target == "INSERT INTO t VALUES (1)"
    assert schedule.sessions[1][0] == Step(1, "begin", target="repeatable read")
    assert schedule.sessions[1][0].describe() == "BEGIN ISOLATION LEVEL REPEATABLE READ"
    with pytest.raises(ValueError, match="must appear in the permutation in the order listed"):
        from_spec(spec.replace("permutation s1_1 s2_1 s1_2", "permutation s1_2 s2_1 s1_1"))
    with pytest.raises(ValueError, match="names unknown steps"):
        from_spec(spec + " s9_9")
