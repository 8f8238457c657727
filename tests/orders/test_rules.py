"""The loop's rules, without a database."""

from datetime import UTC, datetime, timedelta

import pytest

from cityline.errors import Conflict, Invalid
from cityline.orders.rules import (
    OrderState,
    Status,
    allowed_actions,
    apply_move,
    replay,
    state_conflict,
)

T0 = datetime(2020, 1, 28, 9, 0, tzinfo=UTC)


def walk(*moves, step=timedelta(minutes=10)):
    state, at = OrderState(received_at=T0), T0
    for action, params in moves:
        at += step
        state = apply_move(state, action, params, at)
    return state


def test_full_loop_records_each_time():
    state = walk(("dispatch", {"unit": "SH-JA-CJD"}), ("accept", {}), ("reply", {"text": "已上门配药"}),
                 ("visit", {"satisfaction": "satisfied"}), ("close", {}))
    assert state.status == Status.CLOSED
    assert state.unit == "SH-JA-CJD"
    assert state.dispatched_at < state.accepted_at < state.replied_at < state.visited_at < state.closed_at
    assert state.satisfaction == "satisfied"


def test_return_and_redispatch_keep_count():
    state = walk(("dispatch", {"unit": "A"}), ("return", {"reason": "非本单位职责"}), ("redispatch", {"unit": "B"}))
    assert (state.status, state.unit, state.returns) == (Status.DISPATCHED, "B", 1)


def test_redispatch_to_same_unit_is_refused():
    with pytest.raises(Conflict):
        walk(("dispatch", {"unit": "A"}), ("redispatch", {"unit": "A"}))


def test_answered_directly_is_closed_without_unit():
    state = walk(("answer", {"text": "口罩预约请登录随申办"}))
    assert state.status == Status.CLOSED and state.unit is None and state.reply


def test_unsatisfied_visit_reopens_to_same_unit():
    state = walk(("dispatch", {"unit": "A"}), ("accept", {}), ("reply", {"text": "x"}),
                 ("visit", {"satisfaction": "unsatisfied"}), ("reopen", {"reason": "问题未解决"}))
    assert (state.status, state.unit, state.reopens, state.satisfaction) == (Status.DISPATCHED, "A", 1, None)


@pytest.mark.parametrize(
    "moves, action, params",
    [
        ([], "accept", {}),
        ([], "reply", {"text": "x"}),
        ([("answer", {"text": "x"})], "dispatch", {"unit": "A"}),
        ([("cancel", {"reason": "重复来电"})], "reopen", {"reason": "x"}),
        ([("dispatch", {"unit": "A"})], "visit", {"satisfaction": "satisfied"}),
    ],
)
def test_illegal_moves_raise_conflict(moves, action, params):
    state = walk(*moves)
    with pytest.raises(Conflict) as info:
        apply_move(state, action, params, T0)
    assert action in info.value.detail


@pytest.mark.parametrize(
    "action, params, field",
    [("dispatch", {}, "unit"), ("return", {}, "reason"), ("reply", {}, "text"),
     ("cancel", {"reason": "  "}, "reason"), ("merge", {}, "into"), ("visit", {"satisfaction": "ok"}, "satisfaction")],
)
def test_missing_values_name_the_field(action, params, field):
    state = walk(("dispatch", {"unit": "A"}), ("accept", {}), ("reply", {"text": "x"})) if action == "visit" else (
        walk(("dispatch", {"unit": "A"})) if action in ("return",) else walk())
    if action == "reply":
        state = walk(("dispatch", {"unit": "A"}), ("accept", {}))
    with pytest.raises(Invalid) as info:
        apply_move(state, action, params, T0)
    assert [e.field for e in info.value.errors] == [field]


def test_unknown_action_lists_the_known_ones():
    with pytest.raises(Invalid) as info:
        apply_move(OrderState(), "escalate_to_mayor", {}, T0)
    assert "dispatch" in info.value.errors[0].message


def test_close_without_visit_needs_a_reason():
    state = walk(("dispatch", {"unit": "A"}), ("accept", {}), ("reply", {"text": "x"}))
    with pytest.raises(Invalid):
        apply_move(state, "close", {}, T0)
    assert apply_move(state, "close", {"reason": "来电人拒绝回访"}, T0).status == Status.CLOSED


def test_replay_rebuilds_the_state_and_skips_other_events():
    moves = [("dispatch", {"unit": "A"}), ("return", {"reason": "r"}), ("redispatch", {"unit": "B"}),
             ("accept", {}), ("reply", {"text": "t"}), ("visit", {"satisfaction": "basic"}), ("close", {})]
    events, at = [("received", {}, T0)], T0
    for action, params in moves:
        at += timedelta(minutes=5)
        events.append((action, params, at))
        events.append(("note", {"text": "电话催办"}, at))
    assert replay(events) == walk(*moves, step=timedelta(minutes=5))


def test_allowed_actions_follow_status():
    assert set(allowed_actions(OrderState())) == {"dispatch", "answer", "merge", "cancel"}
    assert allowed_actions(walk(("cancel", {"reason": "x"}))) == []


def test_allowed_actions_follow_pauses_and_extensions_too():
    """Only the moves the loop would accept are offered: resume only while paused, pause only
    while running, grant/refuse only while an extension is asked for."""
    accepted = walk(("dispatch", {"unit": "A"}), ("accept", {}))
    running = set(allowed_actions(accepted))
    assert {"pause", "extend"} <= running and not {"resume", "grant", "refuse"} & running
    paused = set(allowed_actions(apply_move(accepted, "pause", {"reason": "等待市民提供材料"}, T0)))
    assert "resume" in paused and "pause" not in paused
    asked = apply_move(accepted, "extend", {"reason": "需协调", "until": "2030-01-01T00:00:00+08:00"}, T0)
    waiting = set(allowed_actions(asked))
    assert {"grant", "refuse"} <= waiting and "extend" not in waiting
    for action in running:  # every action offered is one the loop takes (with its values)
        assert state_conflict(accepted, action) is None


def test_extension_is_asked_then_granted_or_refused():
    accepted = walk(("dispatch", {"unit": "A"}), ("accept", {}))
    later = "2020-02-05T17:00:00+08:00"
    asked = apply_move(accepted, "extend", {"reason": "需协调物业维修", "until": later}, T0)
    assert asked.extension_requested.isoformat() == later
    with pytest.raises(Conflict):
        apply_move(asked, "extend", {"reason": "again", "until": later}, T0)
    granted = apply_move(asked, "grant", {}, T0)
    assert (granted.extended_to.isoformat(), granted.extension_requested) == (later, None)
    assert apply_move(asked, "refuse", {"reason": "可按期办结"}, T0).extension_requested is None
    with pytest.raises(Conflict):
        apply_move(accepted, "grant", {}, T0)
    with pytest.raises(Invalid):
        apply_move(accepted, "extend", {"reason": "x", "until": "2019-01-01T00:00:00+08:00"}, T0)
    with pytest.raises(Invalid):
        apply_move(accepted, "extend", {"reason": "x", "until": "next week"}, T0)
