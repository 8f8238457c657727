"""Scheduling timers and queueing messages through a session (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from cityline.db import transaction
from cityline.outbox.models import OutboxMessage
from cityline.outbox.service import Message, enqueue
from cityline.sla.models import Timer
from cityline.sla.policy import load_policies
from cityline.sla.rules import ACCEPT_REMINDER, TimerSpec
from cityline.sla.service import (
    cancel,
    pending_timers,
    refresh_order_timers,
    schedule,
)

SH = ZoneInfo("Asia/Shanghai")
POLICIES = load_policies()
LIFE = POLICIES.policy_for("urgent", "EPI.MEDICAL")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def spec(kind: str, due: str, recipient: str = "U1") -> TimerSpec:
    return TimerSpec(kind, local(due), recipient, {"deadline": "x"})


def states(sla_db, order_id: int) -> list[tuple[str, str]]:
    with sla_db.factory() as session:
        rows = session.scalars(select(Timer).where(Timer.order_id == order_id).order_by(Timer.id))
        return [(t.kind, t.state) for t in rows]


def test_the_caller_owns_the_transaction(sla_db):
    with sla_db.factory() as session:
        schedule(session, 1, [spec("accept_reminder", "2020-02-03 10:00")])
        session.rollback()
    assert states(sla_db, 1) == []
    with transaction(sla_db.factory) as session:
        schedule(session, 1, [spec("accept_reminder", "2020-02-03 10:00")])
    assert states(sla_db, 1) == [("accept_reminder", "pending")]


def test_rescheduling_keeps_what_is_unchanged_and_replaces_the_rest(sla_db):
    with transaction(sla_db.factory) as session:
        first = schedule(session, 7, [spec("deadline_warning", "2020-02-03 15:00"),
                                      spec("overdue_escalation", "2020-02-03 17:00")])
        kept_id = first[1].id
    with transaction(sla_db.factory) as session:  # the warning moved (a pause), escalation did not
        again = schedule(session, 7, [spec("deadline_warning", "2020-02-04 10:00"),
                                      spec("overdue_escalation", "2020-02-03 17:00")])
    assert kept_id in {t.id for t in again}
    assert states(sla_db, 7) == [("deadline_warning", "cancelled"), ("overdue_escalation", "pending"),
                                 ("deadline_warning", "pending")]
    with transaction(sla_db.factory) as session:  # other kinds are left alone
        schedule(session, 7, [spec("accept_reminder", "2020-02-03 10:00")])
        assert len(pending_timers(session, 7)) == 3


def test_refreshing_from_events_drops_the_accept_reminder_once_accepted(sla_db):
    events = [("received", local("2020-01-28 22:10"), {}),
              ("dispatch", local("2020-01-28 22:14"), {"unit": "SH-WJW"})]
    with transaction(sla_db.factory) as session:
        refresh_order_timers(session, 3, events, LIFE, POLICIES.calendar)
    assert ("accept_reminder", "pending") in states(sla_db, 3)
    events.append(("accept", local("2020-01-28 22:20"), {}))
    with transaction(sla_db.factory) as session:
        timers = refresh_order_timers(session, 3, events, LIFE, POLICIES.calendar)
    assert ACCEPT_REMINDER not in {t.kind for t in timers}
    assert ("accept_reminder", "cancelled") in states(sla_db, 3)


def test_cancel_by_kind_or_all(sla_db):
    with transaction(sla_db.factory) as session:
        schedule(session, 5, [spec("accept_reminder", "2020-02-03 10:00"),
                              spec("overdue_escalation", "2020-02-03 17:00")])
    with transaction(sla_db.factory) as session:
        assert cancel(session, 5, kinds=["accept_reminder"]) == 1
    with transaction(sla_db.factory) as session:
        assert cancel(session, 5) == 1
    assert {s for _, s in states(sla_db, 5)} == {"cancelled"}


def test_a_message_with_a_dedupe_key_is_stored_once(sla_db):
    message = Message("sla.notice", "SH-WJW", 9, {"text_zh": "请尽快签收"}, dedupe_key="order:9:notice")
    with transaction(sla_db.factory) as session:
        assert enqueue(session, message) is not None
    with transaction(sla_db.factory) as session:
        assert enqueue(session, message) is None
        enqueue(session, Message("sla.notice", "SH-WJW", 9, {}))  # no key: always stored
    with sla_db.factory() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_tracking_many_new_orders_at_once_gives_what_tracking_each_gives(sla_db):
    """The import's bulk path and the live path agree: timers and deadlines, order by order."""
    from cityline.sla.tracking import track, track_new

    orders = [
        {"id": 1, "number": "20200128-00001", "urgency": "urgent", "category": "EPI.MEDICAL",
         "special_groups": ["elderly"], "events": [("received", local("2020-01-28T22:10"), {}),
                                                   ("dispatch", local("2020-01-28T22:14"), {"unit": "U"})]},
        {"id": 2, "number": "20200128-00002", "urgency": "normal", "category": "GEN.HOUSING",
         "special_groups": [], "events": [("received", local("2020-01-29T09:00"), {})]},
        {"id": 4, "number": "20200128-00004", "urgency": "sub_urgent", "category": "EPI.TEST", "channel": "warning",
         "special_groups": [], "events": [("received", local("2020-01-29T23:00"), {})]},
        {"id": 3, "number": "20200128-00003", "urgency": None, "category": None, "special_groups": [],
         "events": [("received", local("2020-01-29T09:00"), {})]},
    ]
    def timers(session, order_id):
        return sorted((t.kind, t.due_at, t.recipient, t.order_number)
                      for t in session.scalars(select(Timer).where(Timer.order_id == order_id)))

    with transaction(sla_db.factory) as session:
        bulk = track_new(session, orders)
        bulk_timers = {o["id"]: timers(session, o["id"]) for o in orders}
        session.execute(Timer.__table__.delete())
        for order in orders:
            one = track(session, order["id"], urgency=order["urgency"], category=order["category"],
                        special_groups=order["special_groups"], events=order["events"], number=order["number"],
                        channel=order.get("channel"))
            assert bulk.get(order["id"], (None, None)) == one
            assert timers(session, order["id"]) == bulk_timers[order["id"]]
    assert bulk_timers[1] and bulk_timers[2] and not bulk_timers[3]
