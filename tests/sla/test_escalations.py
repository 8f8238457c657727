"""One escalation per missed deadline (issue 14): re-planning an order's timers after a
move never escalates the same deadline (order, respond/resolve, its instant) twice; a
new deadline may escalate again. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cityline.db import transaction
from cityline.outbox.models import OutboxMessage
from cityline.sla.models import Timer
from cityline.sla.service import refresh_order_timers
from cityline.sla.worker import run_once

from .test_worker import HANDLER, LIFE, POLICIES, local


def escalations(sla_db) -> list[OutboxMessage]:
    with sla_db.factory() as session:
        return list(session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "sla.overdue_escalation").order_by(OutboxMessage.id)))


def plan(sla_db, events) -> None:
    with transaction(sla_db.factory) as session:
        refresh_order_timers(session, 1, events, LIFE, POLICIES.calendar, number="20200128-00001")


def test_a_deadline_missed_before_dispatch_is_escalated_once_when_the_order_is_dispatched(sla_db):
    received = local("2020-01-28 22:10")  # respond by 22:40 (30 min, around the clock)
    events = [("received", received, {})]
    plan(sla_db, events)
    assert run_once(sla_db.factory, local("2020-01-28 22:45"), "w1", HANDLER).fired == 1
    events.append(("dispatch", local("2020-01-28 22:50"), {"unit": "SH-WJW"}))  # same cycle, unit known now
    plan(sla_db, events)
    run_once(sla_db.factory, local("2020-01-28 22:55"), "w1", HANDLER)
    assert [m.payload["deadline"] for m in escalations(sla_db)] == ["respond"]


def test_a_redispatch_after_an_escalation_does_not_escalate_the_old_deadline_again(sla_db):
    received = local("2020-01-28 22:10")
    events = [("received", received, {}), ("dispatch", received + timedelta(minutes=4), {"unit": "SH-WJW"})]
    plan(sla_db, events)
    assert run_once(sla_db.factory, local("2020-01-28 22:45"), "w1", HANDLER).fired >= 1  # respond missed
    events.append(("redispatch", local("2020-01-28 22:50"), {"unit": "SH-JA-CJD"}))
    plan(sla_db, events)
    run_once(sla_db.factory, local("2020-01-28 23:00"), "w1", HANDLER)  # before the new cycle's 23:20
    assert [(m.payload["deadline"], m.payload["deadline_at"]) for m in escalations(sla_db)] == [
        ("respond", "2020-01-28T14:40:00+00:00")]
    # The new cycle's own deadline, once missed, is a different missed deadline: escalated.
    run_once(sla_db.factory, local("2020-01-28 23:25"), "w1", HANDLER)
    assert [m.payload["deadline_at"] for m in escalations(sla_db)] == [
        "2020-01-28T14:40:00+00:00", "2020-01-28T15:20:00+00:00"]


def test_two_timers_for_one_missed_deadline_store_one_escalation(sla_db):
    """Belt and braces: two timers for the same deadline (planned before this fix, or by
    another path), fired separately, still escalate once: the messages' dedupe key."""
    due = local("2020-01-28 22:40")
    with transaction(sla_db.factory) as session:
        for unit in (None, "SH-WJW"):
            session.add(Timer(order_id=1, kind="overdue_escalation", due_at=due, recipient="role:supervisor",
                              payload={"deadline": "respond", "unit": unit, "deadline_at": due.isoformat()},
                              state="pending", attempts=0))
    assert run_once(sla_db.factory, local("2020-01-28 22:45"), "w1", HANDLER).fired == 2
    assert len(escalations(sla_db)) == 1
