"""Delivering the outbox: after commit, backed off on failure, given up for an admin,
never twice at once on PostgreSQL; webhooks over real HTTP; reminders by number."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from cityline.accounts.rules import ROLES
from cityline.api import create_app
from cityline.db import transaction
from cityline.orders.models import Order
from cityline.outbox import webhooks
from cityline.outbox.models import OutboxMessage
from cityline.outbox.senders import MemorySender, by_channel
from cityline.outbox.service import Message, enqueue
from cityline.outbox.webhooks import WebhookSender
from cityline.outbox.worker import GiveUp, claim, deliver_outbox
from cityline.privacy import Vault
from cityline.sla.messages import reminder_handler
from cityline.sla.worker import fire_due_timers
from cityline.timeutil import parse_when
from tests.conftest import make_token
from tests.factories import add_units_and_catalogue, order_body

NOW = datetime(2020, 1, 28, 14, 0, tzinfo=UTC)

VAULT = Vault("test-secret-not-for-production")


def row(db, message_id: int) -> OutboxMessage:
    with db.factory() as session:
        return session.get(OutboxMessage, message_id)


def put(db, *messages: Message) -> list[int]:
    with transaction(db.factory) as session:
        return [enqueue(session, m, NOW).id for m in messages]


def test_a_committed_message_is_delivered_once_with_its_id(outbox_db):
    [message_id] = put(outbox_db, Message("sla.notice", "SH-WJW", 7, {"text_zh": "请尽快签收"}))
    sender = MemorySender()
    report = deliver_outbox(outbox_db.factory, NOW, sender)
    assert (report.sent, report.send_errors) == (1, 0)
    [item] = sender.delivered
    assert (item.id, item.kind, item.recipient, item.order_id, item.attempts, item.channel) == (
        message_id, "sla.notice", "SH-WJW", 7, 1, "notice")
    assert deliver_outbox(outbox_db.factory, NOW + timedelta(days=1), sender).sent == 0
    assert (row(outbox_db, message_id).state, row(outbox_db, message_id).sent_at) == ("sent", NOW)


def test_failures_back_off_30s_1min_2min_and_are_given_up_after_the_last_attempt(outbox_db):
    [message_id] = put(outbox_db, Message("sla.notice", "SH-WJW", 1))
    calls: list[datetime] = []

    def unreachable(item):
        calls.append(clock[0])
        raise ConnectionError("gateway down")

    clock = [NOW]
    expected_waits = [30, 60, 120]
    for wait in expected_waits:
        report = deliver_outbox(outbox_db.factory, clock[0], unreachable, max_attempts=4)
        assert (report.send_errors, report.failed) == (1, 0)
        stored = row(outbox_db, message_id)
        assert stored.next_attempt_at == clock[0] + timedelta(seconds=wait)
        # a moment before the wait is over nothing is tried
        assert deliver_outbox(outbox_db.factory, stored.next_attempt_at - timedelta(seconds=1),
                              unreachable).send_errors == 0
        clock[0] = stored.next_attempt_at
    report = deliver_outbox(outbox_db.factory, clock[0], unreachable, max_attempts=4)
    assert (report.send_errors, report.failed) == (1, 1)
    stored = row(outbox_db, message_id)
    assert (stored.state, stored.attempts) == ("failed", 4)
    assert "gateway down" in stored.last_error
    assert deliver_outbox(outbox_db.factory, NOW + timedelta(days=1), unreachable).send_errors == 0
    assert len(calls) == 4


def test_a_failure_no_retry_can_mend_is_given_up_at_once(outbox_db):
    ids = put(outbox_db, Message("a", "x"), Message("b", "webhook:1", channel="webhook"))

    def notices_only(item):
        raise GiveUp("the unit left the city")

    report = deliver_outbox(outbox_db.factory, NOW, by_channel({"notice": notices_only}))
    assert report.failed == 2
    assert [(row(outbox_db, i).state, row(outbox_db, i).attempts) for i in ids] == [("failed", 1), ("failed", 1)]
    assert "no sender for channel 'webhook'" in row(outbox_db, ids[1]).last_error


def test_one_batch_per_pass_when_asked(outbox_db):
    put(outbox_db, *[Message("sla.notice", "SH", n) for n in range(5)])
    sender = MemorySender()
    assert deliver_outbox(outbox_db.factory, NOW, sender, batch_size=2, max_batches=1).sent == 2
    assert deliver_outbox(outbox_db.factory, NOW, sender, batch_size=2).sent == 3


@pytest.mark.postgres
def test_a_claim_skips_the_messages_another_worker_is_claiming(outbox_postgres_db):
    db = outbox_postgres_db
    put(db, *[Message("sla.notice", "SH", n) for n in range(5)])
    with transaction(db.factory) as left:
        held = claim(left, NOW, timedelta(minutes=5), 3)  # not committed yet: its rows stay locked
        with transaction(db.factory) as right:
            right.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting on a lock would fail the test
            other = claim(right, NOW, timedelta(minutes=5), 3)
    assert len(held) == 3 and len(other) == 2
    assert not {i.id for i in held} & {i.id for i in other}


@pytest.mark.postgres
def test_two_workers_on_postgresql_never_deliver_a_message_twice(outbox_postgres_db):
    db = outbox_postgres_db
    n = 40
    with transaction(db.factory) as session:
        for order_id in range(n):
            enqueue(session, Message("sla.notice", "SH", order_id), NOW)
    delivered: dict[str, list[int]] = {"left": [], "right": []}
    go = threading.Barrier(2)

    def worker(name: str) -> None:
        def slow(item):  # a slow receiver: the other worker claims meanwhile
            time.sleep(0.01)
            delivered[name].append(item.id)

        go.wait()
        deliver_outbox(db.factory, NOW, slow, batch_size=3)

    threads = [threading.Thread(target=worker, args=(name,)) for name in delivered]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    every = delivered["left"] + delivered["right"]
    assert Counter(every).most_common(1)[0][1] == 1, "a message was delivered twice"
    assert len(every) == n
    assert delivered["left"] and delivered["right"], "both workers should have worked"


# ---------------------------------------------------------------- webhooks over real HTTP

def webhook_message(db, url: str) -> tuple[int, int, str]:
    with transaction(db.factory) as session:
        hook, secret = webhooks.add(session, VAULT, unit_id=3, unit_code="SH-JA-CJD", url=url)
        message = enqueue(session, Message("order.dispatched", f"webhook:{hook.id}", 1, {
            "webhook_id": hook.id, "event": {"order_number": "20200128-00042"}}, channel="webhook"), NOW)
        return hook.id, message.id, secret


def test_a_webhook_receiver_that_cannot_be_reached_is_a_failed_attempt(outbox_db):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _hook, message_id, _secret = webhook_message(outbox_db, f"http://127.0.0.1:{port}/hook")
    report = deliver_outbox(outbox_db.factory, NOW, WebhookSender(outbox_db.factory, VAULT, timeout=2))
    assert (report.sent, report.send_errors) == (0, 1)
    stored = row(outbox_db, message_id)
    assert (stored.state, stored.attempts, stored.next_attempt_at) == ("pending", 1, NOW + timedelta(seconds=30))


def test_a_redirect_is_not_a_delivery(outbox_db, receiver):
    _hook, message_id, receiver.secret = webhook_message(outbox_db, receiver.url)
    receiver.statuses = [302]
    receiver.redirect_to = receiver.url + "/elsewhere"
    report = deliver_outbox(outbox_db.factory, NOW, WebhookSender(outbox_db.factory, VAULT))
    assert report.send_errors == 1 and "HTTP 302" in row(outbox_db, message_id).last_error
    assert [s.path for s in receiver.seen] == ["/hook"]  # not followed


def test_a_removed_webhook_is_not_called_again(outbox_db, receiver):
    hook_id, message_id, receiver.secret = webhook_message(outbox_db, receiver.url)
    with transaction(outbox_db.factory) as session:
        webhooks.remove(session, hook_id)
    report = deliver_outbox(outbox_db.factory, NOW, WebhookSender(outbox_db.factory, VAULT))
    assert report.failed == 1 and row(outbox_db, message_id).state == "failed"
    assert receiver.seen == []


# ---------------------------------------------------------------- reminders name the order's number

def test_a_reminder_names_the_order_by_its_number(sessions, vault):
    add_units_and_catalogue(sessions)
    token = make_token(sessions, ROLES)
    with TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"}) as client:
        order = client.post("/api/orders", json=order_body()).json()
    assert order["status"] == "dispatched"  # the catalogue was sure: auto-dispatched
    late = parse_when(order["accept_by"]) + timedelta(minutes=1)
    assert fire_due_timers(sessions, late, "w1", reminder_handler()).fired >= 1
    with sessions() as session:
        order_id = session.scalar(select(Order.id).where(Order.number == order["number"]))
        [message] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sla.accept_reminder"))
    assert message.payload["text_zh"].startswith(f"工单 {order['number']} 已派发未签收")
    assert message.payload["text_en"].startswith(f"Order {order['number']} was dispatched")
    assert (message.payload["order_number"], message.order_id) == (order["number"], order_id)
