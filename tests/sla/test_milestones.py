"""The hour chain of a tracing order (流调工单, issue 16): milestones as policy data, their
reminders and escalations on the SLA engine, with a controlled clock. Timers and the outbox on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cityline.db import transaction
from cityline.outbox.models import OutboxMessage
from cityline.sla.policy import PolicyError, load_policies
from cityline.sla.rules import milestones_of, timers_for
from cityline.sla.service import refresh_order_timers
from cityline.sla.worker import run_once

from .test_worker import HANDLER, POLICIES, local

TRACING = POLICIES.policy_for("urgent", "EPI.ISOLATION", channel="warning")
RECEIVED = local("2022-04-10 09:00")
NUMBER = "20220410-00007"


def chain_order(extra=()) -> list:
    return [("received", RECEIVED, {}), ("dispatch", RECEIVED, {"unit": "SH-JA-CJD"}),
            ("milestone", RECEIVED, {"milestone": "started"}), *extra]


def plan(sla_db, events) -> None:
    with transaction(sla_db.factory) as session:
        refresh_order_timers(session, 7, events, TRACING, POLICIES.calendar, number=NUMBER)


def messages(sla_db, kind: str) -> list[OutboxMessage]:
    with sla_db.factory() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)
                                    .order_by(OutboxMessage.id)))


def test_the_tracing_policy_has_the_hour_chain_0_1_2_8_12():
    assert TRACING.name == "epidemic_tracing" and TRACING.calendar == "24x7"
    assert [(m.code, str(m.at)) for m in TRACING.milestones] == [
        ("started", "0m"), ("reached", "1h"), ("core_info", "2h"), ("contacts_controlled", "8h"), ("report", "12h")]
    assert all(m.zh and m.en for m in TRACING.milestones)
    control = POLICIES.policy_for("sub_urgent", "EPI.ISOLATION", channel="warning")
    assert (control.name, control.milestones) == ("epidemic_control", ())
    # Only the warning channel's orders are traced: a caller's isolation question is not.
    assert POLICIES.policy_for("urgent", "EPI.ISOLATION", channel="phone").name == "urgent"


@pytest.mark.parametrize(("milestones", "wrong"), [
    ('[{ code = "a", zh = "甲", at = "1wd" }]', "minutes or hours"),
    ('[{ code = "a", zh = "甲", at = "2h" }, { code = "b", zh = "乙", at = "1h" }]', "order they fall due"),
    ('[{ code = "a", zh = "甲", at = "1h" }, { code = "a", zh = "乙", at = "2h" }]', "used twice"),
    ('[{ code = "a", zh = "甲", at = "1h", when = "x" }]', "unknown key"),
    ('[{ code = "A b", zh = "甲", at = "1h" }]', "'code'"),
    ('[{ code = "a", at = "1h" }]', "Chinese name"),
    ('"1h"', "list of tables"),
])
def test_milestones_are_checked_on_loading(tmp_path, milestones, wrong):
    path = tmp_path / "policies.toml"
    path.write_text(f'''
[[policy]]
name = "urgent"
urgency = "urgent"
accept_within = "10m"
respond_within = "1h"
resolve_within = "12h"
milestones = {milestones}
''', encoding="utf-8")
    with pytest.raises(PolicyError, match=wrong) as caught:
        load_policies(path)
    assert str(path) in str(caught.value) and "milestone" in str(caught.value)


def test_each_milestone_is_due_from_the_receipt_and_judged_on_time_late_or_pending():
    events = chain_order([("redispatch", RECEIVED + timedelta(minutes=30), {"unit": "SH-JA-SUN"}),
                          ("milestone", RECEIVED + timedelta(minutes=59), {"milestone": "reached"}),
                          ("milestone", RECEIVED + timedelta(hours=2, minutes=1), {"milestone": "core_info"})])
    found = milestones_of(events, TRACING, POLICIES.calendar, now=RECEIVED + timedelta(hours=9))
    # A re-dispatch does not restart the chain: every milestone counts from the receipt.
    assert [(m.code, m.due_at - RECEIVED, m.state) for m in found] == [
        ("started", timedelta(0), "on_time"), ("reached", timedelta(hours=1), "on_time"),
        ("core_info", timedelta(hours=2), "late"), ("contacts_controlled", timedelta(hours=8), "late"),
        ("report", timedelta(hours=12), "pending")]
    assert [m.state for m in milestones_of(events, TRACING, POLICIES.calendar)][3:] == ["pending", "pending"]


def test_a_milestone_not_recorded_has_a_reminder_before_and_an_escalation_at_its_time():
    specs = [s for s in timers_for(chain_order(), TRACING, POLICIES.calendar)
             if s.payload["deadline"].startswith("milestone:")]
    planned = sorted((s.payload["milestone"], s.kind, s.due_at - RECEIVED) for s in specs)
    # warn_share (0.8) of the time since the previous milestone: 48 min, 1 h 48, 6 h 48, 11 h 12.
    assert planned == sorted([
        ("reached", "deadline_warning", timedelta(minutes=48)), ("reached", "overdue_escalation", timedelta(hours=1)),
        ("core_info", "deadline_warning", timedelta(hours=1, minutes=48)),
        ("core_info", "overdue_escalation", timedelta(hours=2)),
        ("contacts_controlled", "deadline_warning", timedelta(hours=6, minutes=48)),
        ("contacts_controlled", "overdue_escalation", timedelta(hours=8)),
        ("report", "deadline_warning", timedelta(hours=11, minutes=12)),
        ("report", "overdue_escalation", timedelta(hours=12))])
    assert {s.recipient for s in specs if s.kind == "overdue_escalation"} == {"role:supervisor"}
    assert {s.recipient for s in specs if s.kind == "deadline_warning"} == {"SH-JA-CJD"}
    # Before dispatch nobody holds the order to remind; the supervisor still hears at once
    # that tracing has not started.
    waiting = timers_for([("received", RECEIVED, {})], TRACING, POLICIES.calendar)
    assert ("started", "overdue_escalation", RECEIVED) in [
        (s.payload.get("milestone"), s.kind, s.due_at) for s in waiting]
    assert not [s for s in waiting if s.kind == "deadline_warning" and s.payload.get("milestone")]


def test_milestones_recorded_in_time_escalate_nothing(sla_db):
    events = chain_order()
    plan(sla_db, events)
    for code, at in (("reached", "09:50"), ("core_info", "10:55"), ("contacts_controlled", "16:30"),
                     ("report", "20:45")):
        run_once(sla_db.factory, local(f"2022-04-10 {at}") - timedelta(minutes=1), "w1", HANDLER)
        events.append(("milestone", local(f"2022-04-10 {at}"), {"milestone": code}))
        plan(sla_db, events)
    run_once(sla_db.factory, local("2022-04-11 09:00"), "w1", HANDLER)  # long after the last one
    chased = [m for m in messages(sla_db, "sla.overdue_escalation") if "milestone" in m.payload]
    assert chased == []
    # reply counts as resolution (12 h): only its own escalation may come, never a milestone's.
    reminded = [m.payload["milestone"] for m in messages(sla_db, "sla.deadline_warning") if "milestone" in m.payload]
    assert reminded == ["reached", "core_info", "contacts_controlled", "report"]  # each came before its time


def test_a_reminder_names_the_order_and_the_milestone_before_it_falls_due(sla_db):
    plan(sla_db, chain_order())
    run_once(sla_db.factory, local("2022-04-10 09:47"), "w1", HANDLER)
    assert messages(sla_db, "sla.deadline_warning") == []
    run_once(sla_db.factory, local("2022-04-10 09:49"), "w1", HANDLER)
    [warned] = messages(sla_db, "sla.deadline_warning")
    assert (warned.recipient, warned.payload["milestone"]) == ("SH-JA-CJD", "reached")
    assert warned.payload["text_zh"] == f"工单 {NUMBER} 将于 2022-04-10 10:00 到达“病例到人到位、落实管控”节点时限，请抓紧办理。"
    assert messages(sla_db, "sla.overdue_escalation") == []


def test_a_late_milestone_escalates_to_the_supervisor_exactly_once(sla_db):
    events = chain_order()
    plan(sla_db, events)
    run_once(sla_db.factory, local("2022-04-10 10:01"), "w1", HANDLER)  # "reached" was due at 10:00
    # Moves re-plan the timers (an acceptance, the late record itself, another milestone); the
    # worker runs again and again: the missed milestone is not chased a second time.
    for action, at, data in (("accept", "10:05", {}), ("milestone", "10:20", {"milestone": "reached"}),
                             ("milestone", "10:30", {"milestone": "core_info"})):
        events.append((action, local(f"2022-04-10 {at}"), data))
        plan(sla_db, events)
        run_once(sla_db.factory, local(f"2022-04-10 {at}") + timedelta(minutes=1), "w1", HANDLER)
    chased = [m for m in messages(sla_db, "sla.overdue_escalation") if m.payload.get("milestone")]
    assert [(m.recipient, m.payload["milestone"]) for m in chased] == [("role:supervisor", "reached")]
    assert chased[0].payload["text_zh"] == (
        f"督办：工单 {NUMBER}（承办单位 SH-JA-CJD）已超过“病例到人到位、落实管控”节点时限 2022-04-10 10:00。")
    # The unit hears it is being chased too, once.
    assert [m.recipient for m in messages(sla_db, "sla.overdue_notice") if m.payload.get("milestone")] == [
        "SH-JA-CJD"]
