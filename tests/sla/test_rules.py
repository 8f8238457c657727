"""Deadline rules: pure, no database. Times are Asia/Shanghai local unless said."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cityline.sla.policy import load_policies
from cityline.sla.rules import (
    ACCEPT_REMINDER,
    DEADLINE_WARNING,
    OVERDUE_ESCALATION,
    SUPERVISOR,
    VERBS,
    deadlines_for,
    sla_outcome,
    timers_for,
)

SH = ZoneInfo("Asia/Shanghai")
POLICIES = load_policies()
CAL = POLICIES.calendar


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def ev(action: str, at: str, **data) -> tuple:
    return (action, local(at), data)


def dl(policy, start: str, **kwargs):
    return deadlines_for(policy, local(start), CAL, **kwargs)


URGENT_LIFE = POLICIES.policy_for("urgent", "EPI.MEDICAL")
SUB_URGENT = POLICIES.policy_for("sub_urgent", "EPI.TEST")
NORMAL = POLICIES.policy_for("normal", "GEN.HOUSING")


def test_urgent_life_safety_resolves_within_two_hours_even_on_a_holiday_night():
    d = dl(URGENT_LIFE, "2020-01-28 22:10", dispatched_at=local("2020-01-28 22:14"))
    assert d.resolve_by == local("2020-01-29 00:10")
    assert d.respond_by == local("2020-01-28 22:40")
    assert d.accept_by == local("2020-01-28 22:24")
    assert d.warn_at == local("2020-01-28 23:46")  # 80% of two hours


def test_other_urgent_within_24_hours():
    d = dl(POLICIES.policy_for("urgent", "EPI.MASK"), "2020-01-31 09:00")
    assert d.resolve_by == local("2020-02-01 09:00")


def test_sub_urgent_is_handled_the_same_day_and_closed_within_two():
    d = dl(SUB_URGENT, "2020-02-03 10:00")
    assert (d.respond_by, d.resolve_by) == (local("2020-02-03 17:00"), local("2020-02-04 17:00"))
    late = dl(SUB_URGENT, "2020-02-03 16:30")  # after the 16:00 cut-off: day 1 is tomorrow
    assert (late.respond_by, late.resolve_by) == (local("2020-02-04 17:00"), local("2020-02-05 17:00"))


def test_working_days_skip_the_extended_spring_festival():
    d = dl(SUB_URGENT, "2020-01-23 15:30")
    assert d.resolve_by == local("2020-02-03 17:00")
    during = dl(NORMAL, "2020-01-26 11:00")  # received on a holiday: day 1 is 02-03
    assert during.respond_by == local("2020-02-03 17:00")
    assert during.resolve_by == local("2020-02-07 17:00")


def test_adjusted_sunday_counts_as_a_working_day():
    d = dl(SUB_URGENT, "2020-01-18 10:00")  # Saturday; Sunday 01-19 was worked
    assert d.respond_by == local("2020-01-19 17:00")


def test_accept_reminder_counts_working_time_from_dispatch():
    d = dl(NORMAL, "2020-01-23 16:40", dispatched_at=local("2020-01-23 16:50"))
    assert d.accept_by == local("2020-02-03 09:20")


def test_emergency_mode_runs_normal_orders_around_the_clock():
    emergency = POLICIES.policy_for("normal", emergency=True)
    d = dl(emergency, "2020-01-26 11:00")
    assert d.respond_by == local("2020-01-27 11:00")
    assert d.resolve_by == local("2020-01-31 11:00")  # five days of 24 hours


def test_a_pause_moves_the_deadline_by_the_working_time_paused():
    pauses = [(local("2020-02-04 15:00"), local("2020-02-05 11:00"))]  # 2 h + 2 h working time
    d = dl(SUB_URGENT, "2020-02-03 10:00", pauses=pauses)
    assert d.resolve_by == local("2020-02-05 13:00")  # 02-04 17:00 + 4 working hours


def test_a_pause_on_24x7_counts_clock_time():
    pauses = [(local("2020-01-28 22:30"), local("2020-01-28 23:00"))]
    d = dl(URGENT_LIFE, "2020-01-28 22:10", pauses=pauses)
    assert d.resolve_by == local("2020-01-29 00:40")


def test_an_open_pause_stops_the_clock_and_a_late_pause_rescues_nothing():
    assert dl(SUB_URGENT, "2020-02-03 10:00", pauses=[(local("2020-02-03 12:00"), None)]).resolve_by is None
    late = dl(SUB_URGENT, "2020-02-03 10:00", pauses=[(local("2020-02-05 09:00"), None)])
    assert late.resolve_by == local("2020-02-04 17:00")


def life_order(*more):
    return [ev("received", "2020-01-28 22:10"), ev("dispatch", "2020-01-28 22:14", unit="HQ-HEALTH"),
            *more]


def test_timers_for_a_dispatched_order():
    specs = {(s.kind, s.payload["deadline"]): s for s in timers_for(life_order(), URGENT_LIFE, CAL)}
    assert set(specs) == {(ACCEPT_REMINDER, "accept"), (DEADLINE_WARNING, "resolve"),
                          (OVERDUE_ESCALATION, "respond"), (OVERDUE_ESCALATION, "resolve")}
    assert specs[ACCEPT_REMINDER, "accept"].recipient == "HQ-HEALTH"
    assert specs[ACCEPT_REMINDER, "accept"].due_at == local("2020-01-28 22:24")
    assert specs[OVERDUE_ESCALATION, "resolve"].recipient == SUPERVISOR
    assert specs[OVERDUE_ESCALATION, "resolve"].due_at == local("2020-01-29 00:10")


def test_timers_follow_the_order_state():
    accepted = timers_for(life_order(ev("accept", "2020-01-28 22:20")), URGENT_LIFE, CAL)
    assert {s.kind for s in accepted} == {DEADLINE_WARNING, OVERDUE_ESCALATION}
    assert len(accepted) == 2  # responded: no first-response escalation
    paused = life_order(ev("accept", "2020-01-28 22:20"), ev("pause", "2020-01-28 22:30"))
    assert timers_for(paused, URGENT_LIFE, CAL) == []
    replied = life_order(ev("accept", "2020-01-28 22:20"), ev("reply", "2020-01-28 23:00"))
    assert timers_for(replied, URGENT_LIFE, CAL) == []
    returned = life_order(ev("return", "2020-01-28 22:20", reason="not ours"))
    assert {(s.kind, s.recipient) for s in timers_for(returned, URGENT_LIFE, CAL)} == {
        (OVERDUE_ESCALATION, SUPERVISOR)}
    for final in ("merge", "cancel"):
        assert timers_for(life_order(ev(final, "2020-01-28 22:30")), URGENT_LIFE, CAL) == []


def test_redispatch_restarts_the_clocks_for_the_new_unit():
    events = [
        ev("received", "2020-02-03 10:00"),
        ev("dispatch", "2020-02-03 10:05", unit="DISTRICT-A"),
        ev("return", "2020-02-03 15:00", reason="wrong district"),
        ev("redispatch", "2020-02-04 09:30", unit="DISTRICT-B"),
    ]
    specs = timers_for(events, SUB_URGENT, CAL)
    reminder = next(s for s in specs if s.kind == ACCEPT_REMINDER)
    assert (reminder.recipient, reminder.due_at) == ("DISTRICT-B", local("2020-02-04 10:00"))
    resolve = next(s for s in specs if s.payload["deadline"] == "resolve" and s.kind == OVERDUE_ESCALATION)
    assert resolve.due_at == local("2020-02-05 17:00")  # 两日结 from the re-dispatch
    done = sla_outcome([*events, ev("accept", "2020-02-04 09:40"), ev("reply", "2020-02-05 16:00")],
                       SUB_URGENT, CAL)
    assert done.on_time is True  # late against the first cycle (02-04 17:00), on time for unit B
    assert done.redispatches == 1
    assert done.time_to_resolve == timedelta(days=2, hours=6)  # what the caller waited


def test_outcome_recomputed_from_events():
    on_time = sla_outcome(life_order(ev("accept", "2020-01-28 22:20"), ev("reply", "2020-01-28 23:50"),
                                     ev("visit", "2020-01-29 10:00", satisfaction="satisfied"),
                                     ev("close", "2020-01-29 10:05")), URGENT_LIFE, CAL)
    assert (on_time.applicable, on_time.on_time, on_time.respond_on_time) == (True, True, True)
    late = sla_outcome(life_order(ev("accept", "2020-01-28 22:50"), ev("reply", "2020-01-29 01:10")),
                       URGENT_LIFE, CAL)
    assert (late.on_time, late.respond_on_time, late.overdue_by) == (False, False, timedelta(hours=1))


def test_paused_time_is_not_held_against_the_unit():
    events = life_order(ev("accept", "2020-01-28 22:20"), ev("pause", "2020-01-28 22:30"),
                        ev("resume", "2020-01-29 00:00"), ev("reply", "2020-01-29 01:00"))
    outcome = sla_outcome(events, URGENT_LIFE, CAL)
    assert outcome.on_time is True
    assert outcome.deadlines.resolve_by == local("2020-01-29 01:40")
    assert outcome.paused_for == timedelta(minutes=90)


def test_open_orders_are_late_only_once_their_deadline_passes():
    events = life_order(ev("accept", "2020-01-28 22:20"))
    assert sla_outcome(events, URGENT_LIFE, CAL).on_time is None
    assert sla_outcome(events, URGENT_LIFE, CAL, now=local("2020-01-28 23:00")).on_time is None
    late = sla_outcome(events, URGENT_LIFE, CAL, now=local("2020-01-29 00:40"))
    assert (late.on_time, late.overdue_by) == (False, timedelta(minutes=30))


def test_orders_without_an_sla():
    answered = [ev("received", "2020-02-03 10:00"), ev("answer", "2020-02-03 10:03", text="…")]
    merged = [*life_order(), ev("merge", "2020-01-28 22:30", into="20200128-00001")]
    for events in (answered, merged):
        outcome = sla_outcome(events, URGENT_LIFE, CAL, now=local("2020-03-01 00:00"))
        assert (outcome.applicable, outcome.on_time) == (False, None)


def test_reopened_order_runs_a_new_cycle_with_the_same_unit():
    events = [ev("received", "2020-02-03 10:00"), ev("dispatch", "2020-02-03 10:05", unit="U1"),
              ev("accept", "2020-02-03 10:30"), ev("reply", "2020-02-04 11:00"),
              ev("visit", "2020-02-04 15:00", satisfaction="unsatisfied"),
              ev("reopen", "2020-02-04 15:10", reason="not fixed")]
    reminder = next(s for s in timers_for(events, SUB_URGENT, CAL) if s.kind == ACCEPT_REMINDER)
    assert (reminder.recipient, reminder.due_at) == ("U1", local("2020-02-04 15:40"))
    closed = sla_outcome([*events, ev("accept", "2020-02-05 09:00"), ev("reply", "2020-02-06 18:00")],
                         SUB_URGENT, CAL)
    assert closed.on_time is False  # 两日结 from the reopening ends 02-05 17:00 (after the cut-off)


def test_events_that_are_not_moves_do_not_move_the_clock():
    moves = [("received", local("2020-02-03 10:00"), {}),
             ("dispatch", local("2020-02-03 10:05"), {"unit": "U1"}),
             ("accept", local("2020-02-03 10:10"), {}), ("reply", local("2020-02-03 16:00"), {})]
    with_notes = [*moves[:2], ("note", local("2020-02-03 10:06"), {"text": "called back"}),
                  ("labels_corrected", local("2020-02-03 10:07"), {}), *moves[2:]]
    assert sla_outcome(with_notes, SUB_URGENT, CAL) == sla_outcome(moves, SUB_URGENT, CAL)


def test_the_clock_knows_every_verb_of_the_loop():
    """A verb added to the loop must be added to the deadline clock too (with or without effect)."""
    from cityline.orders.rules import ALLOWED_FROM

    assert set(ALLOWED_FROM) | {"received"} == set(VERBS)


def test_naive_or_misplaced_event_times_are_refused():
    with pytest.raises(ValueError, match="naive time"):
        sla_outcome([ev("received", "2020-02-03 09:00"), ("dispatch", datetime(2020, 2, 3, 10), {})],
                    NORMAL, CAL)
    with pytest.raises(ValueError, match=r"expected \(action, at, data\)"):
        sla_outcome([("received", {}, local("2020-02-03 09:00"))], NORMAL, CAL)
