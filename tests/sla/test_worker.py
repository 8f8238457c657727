"""The timer worker and outbox delivery, on SQLite and PostgreSQL, including a
worker killed mid-run and two workers at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from cityline.db import transaction
from cityline.outbox.models import OutboxMessage
from cityline.outbox.senders import MemorySender
from cityline.outbox.service import Message, enqueue
from cityline.outbox.worker import deliver_outbox
from cityline.sla.messages import reminder_handler
from cityline.sla.models import Timer
from cityline.sla.policy import load_policies
from cityline.sla.rules import TimerSpec
from cityline.sla.service import cancel, refresh_order_timers, schedule
from cityline.sla.worker import fire_due_timers, run_forever, run_once

SH = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]
POLICIES = load_policies()
LIFE = POLICIES.policy_for("urgent", "EPI.MEDICAL")
HANDLER = reminder_handler()


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def life_order(sla_db, order_id: int, received: str = "2020-01-28 22:10") -> None:
    start = local(received)
    events = [("received", start, {}), ("dispatch", start + timedelta(minutes=4), {"unit": "SH-WJW"})]
    with transaction(sla_db.factory) as session:
        refresh_order_timers(session, order_id, events, LIFE, POLICIES.calendar)


def count(sla_db, model, *where) -> int:
    with sla_db.factory() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_due_reminders_fire_once_and_are_delivered_after_commit(sla_db):
    life_order(sla_db, 1)
    sender = MemorySender()
    early = run_once(sla_db.factory, local("2020-01-28 22:20"), "w1", HANDLER, sender)
    assert (early.fired, early.sent) == (0, 0)
    report = run_once(sla_db.factory, local("2020-01-28 22:25"), "w1", HANDLER, sender)
    assert (report.fired, report.messages, report.sent) == (1, 1, 1)
    [item] = sender.delivered
    assert (item.kind, item.recipient, item.order_id) == ("sla.accept_reminder", "SH-WJW", 1)
    assert "未签收" in item.payload["text_zh"] and "not accepted" in item.payload["text_en"]
    again = run_once(sla_db.factory, local("2020-01-28 22:26"), "w1", HANDLER, sender)
    assert (again.fired, again.sent, len(sender.delivered)) == (0, 0, 1)
    assert count(sla_db, OutboxMessage, OutboxMessage.state == "sent") == 1


def test_a_restart_fires_everything_that_fell_due_while_down(sla_db):
    for order_id in range(1, 6):
        life_order(sla_db, order_id)
    sender = MemorySender()
    report = run_once(sla_db.factory, local("2020-01-29 09:00"), "w1", HANDLER, sender)
    # per order: accept reminder, warning, 2 escalations (respond, resolve) to supervisor + unit
    assert (report.fired, report.messages, report.sent) == (20, 30, 30)
    kinds = Counter(item.kind for item in sender.delivered)
    assert kinds == {"sla.accept_reminder": 5, "sla.deadline_warning": 5,
                     "sla.overdue_escalation": 10, "sla.overdue_notice": 10}
    assert {i.recipient for i in sender.delivered if i.kind == "sla.overdue_escalation"} == {
        "role:supervisor"}


def test_a_fired_reminder_is_not_repeated_when_the_order_is_re_evaluated(sla_db):
    life_order(sla_db, 1)
    run_once(sla_db.factory, local("2020-01-28 22:25"), "w1", HANDLER)
    life_order(sla_db, 1)  # the order loop re-evaluates after an unrelated event
    assert run_once(sla_db.factory, local("2020-01-28 22:30"), "w1", HANDLER).fired == 0


def test_cancelled_reminders_never_fire(sla_db):
    life_order(sla_db, 1)
    with transaction(sla_db.factory) as session:
        cancel(session, 1)
    assert run_once(sla_db.factory, local("2020-02-01 00:00"), "w1", HANDLER).fired == 0


def test_a_reminder_cancelled_while_its_handler_runs_is_not_sent(sla_db):
    life_order(sla_db, 1)

    def handler_while_order_is_closed(timer):
        with transaction(sla_db.factory) as session:  # the unit replies meanwhile
            cancel(session, timer.order_id)
        return HANDLER(timer)

    report = run_once(sla_db.factory, local("2020-01-28 22:25"), "w1", handler_while_order_is_closed)
    assert (report.fired, report.not_fired) == (0, 1)
    assert count(sla_db, OutboxMessage) == 0


def test_a_lease_that_ran_out_lets_another_worker_fire_and_the_slow_one_is_discarded(sla_db):
    life_order(sla_db, 1)
    now = local("2020-01-28 22:25")
    lease = timedelta(minutes=5)
    seen = []

    def stuck_handler(timer):  # worker A is stuck past its lease; worker B takes over
        seen.append(timer.id)
        b = fire_due_timers(sla_db.factory, now + lease + timedelta(seconds=1), "B", HANDLER)
        assert b.fired == 1
        return HANDLER(timer)

    a = fire_due_timers(sla_db.factory, now, "A", stuck_handler, lease=lease)
    assert (a.fired, a.not_fired) == (0, 1)
    assert count(sla_db, OutboxMessage) == 1
    with sla_db.factory() as session:
        assert session.scalar(select(Timer.claimed_by).where(Timer.id == seen[0])) == "B"


def test_a_failing_handler_is_retried_with_back_off_and_does_not_block_others(sla_db):
    with transaction(sla_db.factory) as session:
        for order_id in (1, 2):
            schedule(session, order_id, [TimerSpec("accept_reminder", local("2020-02-03 10:00"), "U1",
                                                   {"deadline": "accept"})])
    failures = {1}

    def flaky(timer):
        if timer.order_id in failures:
            raise RuntimeError("unit directory unavailable")
        return HANDLER(timer)

    now = local("2020-02-03 10:00")
    first = fire_due_timers(sla_db.factory, now, "w1", flaky)
    assert (first.fired, first.handler_errors) == (1, 1)
    with sla_db.factory() as session:
        broken = session.scalars(select(Timer).where(Timer.order_id == 1)).one()
        assert (broken.state, broken.attempts) == ("pending", 1)
        assert "unit directory unavailable" in broken.last_error
    assert fire_due_timers(sla_db.factory, now + timedelta(seconds=20), "w1", flaky).fired == 0
    failures.clear()
    assert fire_due_timers(sla_db.factory, now + timedelta(seconds=31), "w1", flaky).fired == 1


def test_delivery_failures_are_counted_backed_off_and_finally_marked_failed(sla_db):
    with transaction(sla_db.factory) as session:
        enqueue(session, Message("sla.notice", "SH-WJW", 1, {}), now=local("2020-02-03 10:00"))

    def unreachable(item):
        raise ConnectionError("gateway down")

    now = local("2020-02-03 10:00")
    assert deliver_outbox(sla_db.factory, now, unreachable).send_errors == 1
    assert deliver_outbox(sla_db.factory, now + timedelta(seconds=29), unreachable).send_errors == 0
    for minutes in (1, 3, 10):  # back-off 30 s, 1 min, 2 min: each of these is a new attempt
        assert deliver_outbox(sla_db.factory, now + timedelta(minutes=minutes), unreachable).send_errors == 1
    with sla_db.factory() as session:
        row = session.scalars(select(OutboxMessage)).one()
        assert (row.state, row.attempts) == ("pending", 4)
        assert "gateway down" in row.last_error
    later = now + timedelta(hours=1)
    deliver_outbox(sla_db.factory, later, unreachable, max_attempts=5)
    assert count(sla_db, OutboxMessage, OutboxMessage.state == "failed") == 1


def test_run_forever_works_until_stopped(sla_db):
    life_order(sla_db, 1)
    sender, stop = MemorySender(), threading.Event()
    loop = threading.Thread(target=run_forever, args=(sla_db.factory, "w1", HANDLER, sender, stop),
                            kwargs={"interval": 0.01, "clock": lambda: local("2020-01-29 09:00")})
    loop.start()
    try:
        wait_for(lambda: len(sender.delivered) == 6, "the loop to deliver the order's reminders")
    finally:
        stop.set()
        loop.join(timeout=30)
    assert not loop.is_alive()
    assert count(sla_db, Timer, Timer.state == "pending") == 0


# ---------------------------------------------------------------- in other processes

def due_timers(sla_db, n: int, due: datetime) -> None:
    with transaction(sla_db.factory) as session:
        for order_id in range(1, n + 1):
            schedule(session, order_id, [TimerSpec("overdue_escalation", due, "role:supervisor",
                                                   {"deadline": "resolve"})])


def start_worker(**config) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "tests.sla.worker_process", json.dumps(config)],
                            cwd=ROOT, env=env)


def wait_for(condition, what: str, timeout: float = 60) -> None:
    give_up = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


def assert_each_timer_fired_once_with_its_messages(sla_db, n: int) -> None:
    with sla_db.factory() as session:
        states = Counter(session.scalars(select(Timer.state)))
        messages = session.execute(select(OutboxMessage.dedupe_key, OutboxMessage.payload)).all()
    assert states == {"fired": n}
    assert len(messages) == 2 * n  # each timer's two messages, no more, no fewer
    per_timer = Counter(payload["timer_id"] for _, payload in messages)
    assert set(per_timer.values()) == {2} and len(per_timer) == n


def test_a_worker_killed_mid_run_loses_no_reminder_and_sends_none_twice(sla_db, tmp_path):
    n = 30
    now = datetime(2020, 2, 3, 2, 0, tzinfo=UTC)
    due_timers(sla_db, n, now - timedelta(hours=1))
    common = {"url": sla_db.url, "job": "fire", "delay": 0.04, "batch": 4, "lease_seconds": 300}
    first = start_worker(**common, worker_id="first", calls=str(tmp_path / "first.calls"),
                         now=now.isoformat())
    try:
        wait_for(lambda: count(sla_db, Timer, Timer.state == "fired") >= 5, "the first worker to fire")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert 0 < count(sla_db, Timer, Timer.state == "pending") < n  # killed mid-run
    # The restarted worker runs after the dead one's lease has run out.
    fired_before = count(sla_db, Timer, Timer.state == "fired")
    result = tmp_path / "second.json"
    second = start_worker(**common, worker_id="second", calls=str(tmp_path / "second.calls"),
                          now=(now + timedelta(seconds=301)).isoformat(), result=str(result))
    assert second.wait(timeout=120) == 0
    assert json.loads(result.read_text())["fired"] == n - fired_before
    assert_each_timer_fired_once_with_its_messages(sla_db, n)
    sender = MemorySender()
    assert deliver_outbox(sla_db.factory, now + timedelta(seconds=302), sender).sent == 2 * n
    assert len({item.id for item in sender.delivered}) == len(sender.delivered) == 2 * n
    assert deliver_outbox(sla_db.factory, now + timedelta(days=1), sender).sent == 0


def test_a_worker_killed_mid_run_is_replaced_by_one_of_its_name_that_takes_its_timers_at_once(
    sla_db, tmp_path
):
    """Issue 14: ``serve:{port}`` restarted at once must not wait out its own lease; a
    worker of another name must, and the (short) lease is all it waits."""
    n = 30
    now = datetime(2020, 2, 3, 2, 0, tzinfo=UTC)
    due_timers(sla_db, n, now - timedelta(hours=1))
    common = {"url": sla_db.url, "job": "fire", "delay": 0.04, "batch": 4, "lease_seconds": 30}
    first_id = tmp_path / "first.id"
    first = start_worker(**common, name="serve:8345", calls=str(tmp_path / "first.calls"),
                         now=now.isoformat(), pid_file=str(first_id))

    def holding() -> int:
        return count(sla_db, Timer, Timer.state == "pending", Timer.claimed_by == first_id.read_text())

    try:
        wait_for(lambda: first_id.exists() and count(sla_db, Timer, Timer.state == "fired") >= 5
                 and holding() > 0, "the first worker to fire, and to hold a claimed batch")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    held = holding()
    assert held > 0  # killed holding a claimed batch
    fired_before = count(sla_db, Timer, Timer.state == "fired")
    # A worker of another name, one second later: the dead worker's batch is not its to take.
    stranger = tmp_path / "stranger.json"
    assert start_worker(**common, name="sla-worker", calls=str(tmp_path / "stranger.calls"),
                        now=(now + timedelta(seconds=1)).isoformat(),
                        result=str(stranger)).wait(timeout=120) == 0
    fired_by_stranger = json.loads(stranger.read_text())["fired"]
    assert fired_by_stranger == n - fired_before - held
    # The same name restarted, still well inside the lease: it takes the batch back at once.
    result = tmp_path / "second.json"
    second = start_worker(**common, name="serve:8345", calls=str(tmp_path / "second.calls"),
                          now=(now + timedelta(seconds=2)).isoformat(), result=str(result))
    assert second.wait(timeout=120) == 0
    assert json.loads(result.read_text())["fired"] == held
    assert_each_timer_fired_once_with_its_messages(sla_db, n)


def test_delivery_killed_mid_run_delivers_everything_and_repeats_at_most_the_one_in_flight(
    sla_db, tmp_path
):
    n = 20
    now = datetime(2020, 2, 3, 2, 0, tzinfo=UTC)
    with transaction(sla_db.factory) as session:
        for order_id in range(1, n + 1):
            enqueue(session, Message("sla.notice", "SH-WJW", order_id, {}), now=now)
    log = tmp_path / "delivered.jsonl"
    common = {"url": sla_db.url, "job": "deliver", "delay": 0.04, "batch": 5, "lease_seconds": 300,
              "log": str(log)}
    first = start_worker(**common, now=now.isoformat())
    try:
        wait_for(lambda: log.exists() and len(log.read_text().splitlines()) >= 5, "first deliveries")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert count(sla_db, OutboxMessage, OutboxMessage.state == "pending") > 0
    second = start_worker(**common, now=(now + timedelta(seconds=301)).isoformat())
    assert second.wait(timeout=120) == 0
    ids = [json.loads(line)["id"] for line in log.read_text().splitlines()]
    assert set(ids) == set(range(1, n + 1))
    assert len(ids) - len(set(ids)) <= 1  # at-least-once: only a send cut off before its mark
    assert count(sla_db, OutboxMessage, OutboxMessage.state == "sent") == n


@pytest.mark.parametrize("lease_seconds", [60, 0], ids=["lease", "lease-expires-at-once"])
def test_two_workers_at_once_never_fire_a_timer_twice(sla_postgres_db, tmp_path, lease_seconds):
    sla_db = sla_postgres_db
    # With a lease that expires at once the two workers keep taking each other's batches, and a
    # worker whose batch was taken fires none of it: on a loaded machine that ping-pong once took
    # 100 s for 30 timers, so that case gets fewer timers and shorter handlers.
    n, delay = (30, 0.05) if lease_seconds else (12, 0.01)
    due_timers(sla_db, n, datetime.now(UTC) - timedelta(minutes=5))
    go = tmp_path / "go"
    workers = [
        start_worker(url=sla_db.url, job="fire", delay=delay, batch=2, lease_seconds=lease_seconds,
                     worker_id=name, calls=str(tmp_path / f"{name}.calls"), go_file=str(go),
                     ready_file=str(tmp_path / f"{name}.ready"), result=str(tmp_path / f"{name}.json"))
        for name in ("left", "right")
    ]
    # Both start claiming at the same moment: go is said only once both have imported and
    # connected (under CI's load one worker once took all 12 timers before the other had started).
    wait_for(lambda: all((tmp_path / f"{name}.ready").exists() for name in ("left", "right")),
             "both workers to be ready")
    go.touch()
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    results = [json.loads((tmp_path / f"{name}.json").read_text()) for name in ("left", "right")]
    assert sum(r["fired"] for r in results) == n  # the outbox's unique key is not what saves us
    assert_each_timer_fired_once_with_its_messages(sla_db, n)
    # Both really worked: each worker's own log of handler calls (claimed_by cannot show it,
    # since with a lease that expires at once the later claimer overwrites it).
    calls = {w: (tmp_path / f"{w}.calls").read_text().splitlines() for w in ("left", "right")}
    assert all(calls.values()), {w: len(c) for w, c in calls.items()}
    assert sum(len(c) for c in calls.values()) >= n
