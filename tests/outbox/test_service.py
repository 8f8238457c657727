"""Writing to the outbox in the writer's transaction; dispatch notices and webhooks."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cityline.db import transaction
from cityline.errors import Conflict, Invalid, NotFound
from cityline.outbox import notify, service, webhooks
from cityline.outbox.models import Notification, OutboxMessage
from cityline.outbox.rules import DISPATCHED, REDISPATCHED
from cityline.outbox.service import Message, enqueue
from cityline.privacy import Vault

NOW = datetime(2020, 1, 28, 14, 0, tzinfo=UTC)

VAULT = Vault("test-secret-not-for-production")


def count(db, model, *where) -> int:
    with db.factory() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


class Refused(Exception):
    pass


def test_a_message_exists_only_if_the_writers_transaction_commits(outbox_db):
    with pytest.raises(Refused), transaction(outbox_db.factory) as session:
        assert enqueue(session, Message("order.dispatched", "SH-JA-CJD", 1)) is not None
        raise Refused  # the change that caused the message is refused: both go
    assert count(outbox_db, OutboxMessage) == 0
    with transaction(outbox_db.factory) as session:
        enqueue(session, Message("order.dispatched", "SH-JA-CJD", 1, {"order_number": "20200128-00001"}))
    with outbox_db.factory() as session:
        row = session.scalars(select(OutboxMessage)).one()
    assert (row.state, row.attempts, row.channel, row.payload) == (
        "pending", 0, "notice", {"order_number": "20200128-00001"})


def test_the_same_dedupe_key_is_stored_once_in_one_transaction_or_two(outbox_db):
    message = Message("sla.notice", "SH-WJW", 9, dedupe_key="order:9:notice")
    with transaction(outbox_db.factory) as session:
        assert enqueue(session, message) is not None
        assert enqueue(session, message) is None
    with transaction(outbox_db.factory) as session:
        assert enqueue(session, message) is None
        assert enqueue(session, Message("sla.notice", "SH-WJW", 9)) is not None  # no key: always stored
    assert count(outbox_db, OutboxMessage) == 2


@pytest.mark.postgres
def test_two_writers_racing_with_one_key_store_it_once_and_neither_fails(outbox_postgres_db):
    db = outbox_postgres_db
    message = Message("sla.notice", "SH-WJW", 9, dedupe_key="race")
    second: list[object] = []
    with transaction(db.factory) as first:
        assert enqueue(first, message) is not None

        def racer() -> None:  # waits on the first writer's uncommitted key, then stores nothing
            with transaction(db.factory) as session:
                second.append(enqueue(session, message))

        thread = threading.Thread(target=racer)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive()  # blocked by the first writer's row
    thread.join(timeout=30)
    assert second == [None]
    assert count(db, OutboxMessage) == 1


def test_an_unknown_channel_is_refused_before_anything_is_written(outbox_db):
    with pytest.raises(ValueError, match="channel"), transaction(outbox_db.factory) as session:
        enqueue(session, Message("x", "SH", channel="carrier-pigeon"))


def test_a_failed_message_can_be_retried_and_only_a_failed_one(outbox_db):
    with transaction(outbox_db.factory) as session:
        row = enqueue(session, Message("order.dispatched", "webhook:1", channel="webhook"), NOW)
        row.state, row.attempts, row.last_error = "failed", 10, "HTTP 500"
        message_id = row.id
    with transaction(outbox_db.factory) as session:
        assert [m.id for m in service.messages(session, "failed")] == [message_id]
        again = service.retry(session, message_id, NOW + timedelta(hours=5))
        assert (again.state, again.attempts, again.next_attempt_at) == ("pending", 0, NOW + timedelta(hours=5))
    with pytest.raises(Conflict), transaction(outbox_db.factory) as session:
        service.retry(session, message_id)
    with pytest.raises(NotFound), transaction(outbox_db.factory) as session:
        service.retry(session, 999)
    with pytest.raises(Invalid), transaction(outbox_db.factory) as session:
        service.messages(session, "lost")


# ---------------------------------------------------------------- dispatch notices and webhooks

def dispatch(db, unit_id=3, unit_code="SH-JA-CJD", number="20200128-00042", redispatch=False):
    with transaction(db.factory) as session:
        return notify.order_dispatched(
            session, unit_id=unit_id, unit_code=unit_code, order_id=42, number=number, category="EPI.MEDICAL",
            urgency="urgent", accept_by=NOW + timedelta(minutes=15), resolve_by=NOW + timedelta(hours=2),
            kind=REDISPATCHED if redispatch else DISPATCHED, now=NOW)


def test_a_dispatch_writes_the_units_notification_and_one_delivery_per_active_webhook(outbox_db):
    with transaction(outbox_db.factory) as session:
        kept, _ = webhooks.add(session, VAULT, unit_id=3, unit_code="SH-JA-CJD", url="https://cjd.example/hook")
        gone, _ = webhooks.add(session, VAULT, unit_id=3, unit_code="SH-JA-CJD", url="https://old.example/hook")
        webhooks.add(session, VAULT, unit_id=4, unit_code="SH-JA-JNL", url="https://jnl.example/hook")
        webhooks.remove(session, gone.id)
    dispatch(outbox_db)
    with outbox_db.factory() as session:
        note = session.scalars(select(Notification)).one()
        [delivery] = session.scalars(select(OutboxMessage)).all()
    assert (note.unit_id, note.unit_code, note.order_number, note.kind, note.read_at) == (
        3, "SH-JA-CJD", "20200128-00042", "order.dispatched", None)
    assert note.text == "新派工单 20200128-00042（就医配药，紧急），请于 2020-01-28 22:15 前签收，2020-01-29 00:00 前办结。"
    assert (delivery.channel, delivery.recipient, delivery.kind, delivery.order_id) == (
        "webhook", f"webhook:{kept.id}", "order.dispatched", 42)
    assert delivery.payload["event"] == {
        "order_number": "20200128-00042", "unit": "SH-JA-CJD", "category": "EPI.MEDICAL", "urgency": "urgent",
        "deadline": "2020-01-28T16:00:00+00:00", "accept_by": "2020-01-28T14:15:00+00:00",
        "dispatched_at": "2020-01-28T14:00:00+00:00"}
    assert "secret" not in str(delivery.payload)


def test_a_unit_reads_its_own_and_its_sub_units_notifications_unread_first(outbox_db):
    first = dispatch(outbox_db, number="20200128-00001")
    dispatch(outbox_db, number="20200128-00002")
    dispatch(outbox_db, unit_id=4, unit_code="SH-JA-JNL", number="20200128-00003", redispatch=True)
    with transaction(outbox_db.factory) as session:
        notify.mark_read(session, first.id, frozenset({3}), actor="handler", now=NOW + timedelta(minutes=1))
    with transaction(outbox_db.factory) as session:
        mine, unread = notify.notifications(session, frozenset({3}))
        assert [n.order_number for n in mine] == ["20200128-00002", "20200128-00001"] and unread == 1
        district, unread = notify.notifications(session, frozenset({2, 3, 4}), unread_only=True)
        assert {n.order_number for n in district} == {"20200128-00002", "20200128-00003"} and unread == 2
        everyone, _ = notify.notifications(session, None)
        assert len(everyone) == 3
        assert next(n for n in district if n.kind == "order.redispatched").text.startswith("改派工单 20200128-00003")
        with pytest.raises(NotFound):  # another street's notification does not exist for this unit
            notify.mark_read(session, first.id, frozenset({4}), actor="other", now=NOW)


def test_reading_twice_keeps_the_first_reader_and_time(outbox_db):
    note = dispatch(outbox_db)
    for who, minute in (("first", 1), ("second", 2)):
        with transaction(outbox_db.factory) as session:
            notify.mark_read(session, note.id, None, actor=who, now=NOW + timedelta(minutes=minute))
    with outbox_db.factory() as session:
        read = session.get(Notification, note.id)
    assert (read.read_by, read.read_at) == ("first", NOW + timedelta(minutes=1))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://cjd.example/", "cjd.example/hook", "https://",
                                 "javascript:alert(1)"])
def test_a_webhook_must_be_an_http_address(outbox_db, url):
    with pytest.raises(Invalid) as refused, transaction(outbox_db.factory) as session:
        webhooks.add(session, VAULT, unit_id=3, unit_code="SH-JA-CJD", url=url)
    assert refused.value.errors[0].field == "url"


def test_each_webhook_gets_its_own_secret_and_removed_ones_are_listed_only_on_request(outbox_db):
    with transaction(outbox_db.factory) as session:
        one, secret_one = webhooks.add(session, VAULT, unit_id=3, unit_code="SH-JA-CJD", url="https://a.example/")
        _two, secret_two = webhooks.add(session, VAULT, unit_id=3, unit_code="SH-JA-CJD", url="https://b.example/")
    assert secret_one != secret_two and len(secret_one) == 64
    with transaction(outbox_db.factory) as session:
        webhooks.remove(session, one.id)
    with transaction(outbox_db.factory) as session:
        assert [h.url for h in webhooks.list_webhooks(session)] == ["https://b.example/"]
        assert len(webhooks.list_webhooks(session, include_removed=True)) == 2
        with pytest.raises(NotFound):
            webhooks.remove(session, one.id)
