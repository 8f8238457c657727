"""The worker: fire due timers into the outbox, then deliver the outbox — one loop
for both (``cityline sla worker``, or the thread ``serve`` starts).

Firing a timer, step by step:

1. *Claim* (own transaction): due, pending timers whose lease is free are
   locked with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (so several
   workers take disjoint rows), or under SQLite's single writer lock (``BEGIN
   IMMEDIATE``, emitted by :func:`cityline.db.make_engine`); the worker writes
   its name and a lease end on them and commits.
2. The handler turns each timer into messages (no side effects of its own).
3. *Fire* (own transaction, one per claimed batch): ``UPDATE … SET
   state='fired' WHERE id=… AND state='pending'`` and, in the same
   transaction, insert the messages. Only
   the worker whose update changed the row stores messages, so a timer fires
   once even if a lease expired and two workers handled it; one that was
   cancelled meanwhile does not fire at all.

A worker killed at any point leaves each timer either pending (claimed, lease
running out: another worker or the restarted one fires it after ``lease``) or
fired with its messages stored. Nothing is lost and nothing is stored twice.

Delivery (``cityline.outbox.worker``) sends pending outbox messages after the
commit — reminders through the notice sender, a unit's webhooks by HTTP — and
marks them sent; failures are counted and retried with back-off. Delivery is
at-least-once: each message carries its outbox id so a receiver can drop a repeat.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cityline.db import transaction, utcnow
from cityline.outbox.rules import retry_delay
from cityline.outbox.service import Message, enqueue
from cityline.outbox.worker import DeliveryReport, Sender, deliver_outbox
from cityline.sla.models import Timer

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class TimerView:
    """A claimed timer as plain values (what a handler sees)."""

    id: int
    order_id: int
    kind: str
    due_at: datetime
    recipient: str | None
    payload: dict[str, Any]
    attempts: int
    order_number: str | None = None  # what its messages call the order


Handler = Callable[[TimerView], Sequence[Message]]


@dataclass
class RunReport:
    fired: int = 0
    not_fired: int = 0  # fired by another worker or cancelled meanwhile
    handler_errors: int = 0
    messages: int = 0
    sent: int = 0
    send_errors: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: RunReport | DeliveryReport) -> None:
        for name in ("fired", "not_fired", "handler_errors", "messages", "sent", "send_errors"):
            setattr(self, name, getattr(self, name) + getattr(other, name, 0))
        self.errors.extend(other.errors)

    @property
    def busy(self) -> bool:
        return bool(self.fired or self.not_fired or self.sent or self.send_errors)


def _claim_timers(
    session: Session, now: datetime, worker_id: str, lease: timedelta, limit: int
) -> list[TimerView]:
    rows = session.scalars(
        select(Timer)
        .where(
            Timer.state == "pending",
            Timer.due_at <= now,
            or_(Timer.claimed_until.is_(None), Timer.claimed_until <= now),
        )
        .order_by(Timer.due_at, Timer.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    views = []
    for row in rows:
        row.claimed_by, row.claimed_until = worker_id, now + lease
        row.attempts = (row.attempts or 0) + 1
        views.append(TimerView(row.id, row.order_id, row.kind, row.due_at, row.recipient,
                               dict(row.payload or {}), row.attempts, row.order_number))
    return views


def _fire(session: Session, timer: TimerView, messages: Sequence[Message], now: datetime,
          worker_id: str) -> bool:
    timers = Timer.__table__
    changed = session.execute(
        timers.update()
        .where(timers.c.id == timer.id, timers.c.state == "pending")
        .values(state="fired", fired_at=now, claimed_by=worker_id, last_error=None)
    ).rowcount
    if changed != 1:
        return False
    for n, message in enumerate(messages):
        # Only the worker whose update fired the timer gets here, so "timer:" keys are new;
        # a handler's own key may exist already and is then stored once.
        key = message.dedupe_key or f"timer:{timer.id}:{n}"
        enqueue(session, replace(message, dedupe_key=key), now)
    return True


def _handler_failed(session: Session, timer: TimerView, error: str, now: datetime) -> None:
    session.execute(
        update(Timer)
        .where(Timer.id == timer.id, Timer.state == "pending")
        .values(last_error=error[:2000], claimed_until=now + retry_delay(timer.attempts))
    )


def fire_due_timers(
    session_factory: sessionmaker[Session],
    now: datetime,
    worker_id: str,
    handler: Handler,
    *,
    batch_size: int = 20,
    lease: timedelta = DEFAULT_LEASE,
) -> RunReport:
    """Fire every timer due at ``now`` (including all that fell due while no worker ran).

    A claimed batch is handled, then fired in one transaction: a crash before
    its commit leaves the whole batch pending for the next worker."""
    report = RunReport()
    while True:
        with transaction(session_factory) as session:
            claimed = _claim_timers(session, now, worker_id, lease, batch_size)
        if not claimed:
            return report
        outcomes = [_handle(handler, timer, report) for timer in claimed]
        with transaction(session_factory) as session:
            for timer, messages in zip(claimed, outcomes, strict=True):
                if isinstance(messages, str):
                    _handler_failed(session, timer, messages, now)
                elif _fire(session, timer, messages, now, worker_id):
                    report.fired += 1
                    report.messages += len(messages)
                else:
                    report.not_fired += 1


def _handle(handler: Handler, timer: TimerView, report: RunReport) -> list[Message] | str:
    """The handler's messages, or the error text when it failed."""
    try:
        return list(handler(timer))
    except Exception as exc:  # a handler bug must not stop the other reminders
        log.exception("timer %s (%s) handler failed", timer.id, timer.kind)
        report.handler_errors += 1
        report.errors.append(f"timer {timer.id}: {exc!r}")
        return repr(exc)


def run_once(
    session_factory: sessionmaker[Session],
    now: datetime,
    worker_id: str,
    handler: Handler,
    sender: Sender | None = None,
    *,
    batch_size: int = 20,
    lease: timedelta = DEFAULT_LEASE,
) -> RunReport:
    """Fire what is due at ``now``; then, with a sender, deliver one batch of the outbox.

    One batch per pass, so receivers that time out delay the next timers by one batch
    at most; the loop comes straight back while there is work."""
    report = fire_due_timers(session_factory, now, worker_id, handler,
                             batch_size=batch_size, lease=lease)
    if sender is not None:
        report.add(deliver_outbox(session_factory, now, sender, lease=lease, max_batches=1))
    return report


def run_forever(
    session_factory: sessionmaker[Session],
    worker_id: str,
    handler: Handler,
    sender: Sender | None,
    stop: threading.Event,
    *,
    interval: float = 5.0,
    clock: Callable[[], datetime] = utcnow,
    batch_size: int = 20,
    lease: timedelta = DEFAULT_LEASE,
) -> None:
    """Run until ``stop`` is set: a pass every ``interval`` seconds (at once again
    while there is work). A database error is logged and retried on the next pass."""
    while not stop.is_set():
        try:
            report = run_once(session_factory, clock(), worker_id, handler, sender,
                              batch_size=batch_size, lease=lease)
        except Exception:
            log.exception("timer worker %s: pass failed; retrying in %.0f s", worker_id, interval)
            stop.wait(interval)
            continue
        if not report.busy:
            stop.wait(interval)
