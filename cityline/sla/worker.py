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
   state='fired' WHERE id=… AND state='pending' AND claimed_by=<me>`` and, in
   the same transaction, insert the messages. Only the worker whose update
   changed the row stores messages, so a timer fires once even if a lease
   expired and two workers handled it, and a worker that lost its lease to
   another fires nothing; one that was cancelled meanwhile does not fire at all.

Who holds what: each worker process has a unique identity with a stable name
(``cityline.outbox.identity``), and short leases (:data:`DEFAULT_LEASE`) that it
renews while it works. A worker killed at any point leaves each timer either
pending (claimed, lease running out: another worker fires it after ``lease``, a
restarted worker of the same name on the same machine at once — :func:`take_back`)
or fired with its messages stored. Nothing is lost and nothing is stored twice.

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
from cityline.outbox.identity import WorkerIdentity, holder_text
from cityline.outbox.models import OutboxMessage
from cityline.outbox.rules import retry_delay
from cityline.outbox.service import Message, enqueue
from cityline.outbox.worker import DeliveryReport, Sender, deliver_outbox, renew
from cityline.sla.models import Timer

log = logging.getLogger(__name__)

# Short, because a busy worker renews it (the heartbeat): a dead worker's timers wait this long
# at most for a worker of another name (one of the same name takes them back at once).
DEFAULT_LEASE = timedelta(seconds=30)
Worker = str | WorkerIdentity  # a bare string: a fixed holder name (tests, scripts)


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
    lost: int = 0  # messages another worker claimed before this one sent them
    errors: list[str] = field(default_factory=list)

    def add(self, other: RunReport | DeliveryReport) -> None:
        for name in ("fired", "not_fired", "handler_errors", "messages", "sent", "send_errors", "lost"):
            setattr(self, name, getattr(self, name) + getattr(other, name, 0))
        self.errors.extend(other.errors)

    @property
    def busy(self) -> bool:
        return bool(self.fired or self.not_fired or self.sent or self.send_errors)


def _claim_timers(
    session: Session, now: datetime, worker_id: Worker, lease: timedelta, limit: int
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
        row.claimed_by, row.claimed_until = holder_text(worker_id), now + lease
        row.attempts = (row.attempts or 0) + 1
        views.append(TimerView(row.id, row.order_id, row.kind, row.due_at, row.recipient,
                               dict(row.payload or {}), row.attempts, row.order_number))
    return views


def _fire(session: Session, timer: TimerView, messages: Sequence[Message], now: datetime,
          worker_id: Worker) -> bool:
    timers = Timer.__table__
    changed = session.execute(
        timers.update()
        # claimed_by: a worker whose lease ran out and was claimed by another fires nothing
        .where(timers.c.id == timer.id, timers.c.state == "pending",
               timers.c.claimed_by == holder_text(worker_id))
        .values(state="fired", fired_at=now, last_error=None)
    ).rowcount
    if changed != 1:
        return False
    for n, message in enumerate(messages):
        # Only the worker whose update fired the timer gets here, so "timer:" keys are new;
        # a handler's own key may exist already and is then stored once.
        key = message.dedupe_key or f"timer:{timer.id}:{n}"
        enqueue(session, replace(message, dedupe_key=key), now)
    return True


def _handler_failed(session: Session, timer: TimerView, error: str, now: datetime,
                    worker_id: Worker) -> None:
    # Released (claimed_by cleared): the back-off is a not-before time that nobody renews.
    session.execute(
        update(Timer)
        .where(Timer.id == timer.id, Timer.state == "pending",
               Timer.claimed_by == holder_text(worker_id))
        .values(last_error=error[:2000], claimed_by=None,
                claimed_until=now + retry_delay(timer.attempts))
    )


def take_back(session_factory: sessionmaker[Session], me: WorkerIdentity, now: datetime) -> int:
    """Release at once the timers and messages held by dead predecessors of ``me``'s name
    on this machine (the rule: :meth:`WorkerIdentity.is_dead_predecessor`), so a restarted
    worker need not wait out their leases. Returns how many rows were released."""
    released = 0
    with transaction(session_factory) as session:
        holders = set(session.scalars(
            select(Timer.claimed_by).where(Timer.state == "pending",
                                           Timer.claimed_by.startswith(me.same_name_prefix,
                                                                       autoescape=True))
        )) | set(session.scalars(
            select(OutboxMessage.claimed_by).where(
                OutboxMessage.state == "pending",
                OutboxMessage.claimed_by.startswith(me.same_name_prefix, autoescape=True))
        ))
        for text in holders:
            holder = WorkerIdentity.parse(text)
            if holder is None or not me.is_dead_predecessor(holder):
                continue
            log.warning("worker %s takes back the work of its dead predecessor %s", me, text)
            released += session.execute(
                update(Timer).where(Timer.state == "pending", Timer.claimed_by == text)
                .values(claimed_by=None, claimed_until=now)
            ).rowcount
            released += session.execute(
                update(OutboxMessage).where(OutboxMessage.state == "pending",
                                            OutboxMessage.claimed_by == text)
                .values(claimed_by=None, next_attempt_at=now)
            ).rowcount
    return released


def renew_leases(session_factory: sessionmaker[Session], worker_id: Worker, now: datetime,
                 lease: timedelta = DEFAULT_LEASE) -> int:
    """The heartbeat: extend the lease of every pending timer and message this worker still
    holds (never of one another worker has claimed since). Returns how many."""
    holder = holder_text(worker_id)
    with transaction(session_factory) as session:
        return session.execute(
            update(Timer).where(Timer.state == "pending", Timer.claimed_by == holder)
            .values(claimed_until=now + lease)
        ).rowcount + renew(session, holder, now, lease)


def fire_due_timers(
    session_factory: sessionmaker[Session],
    now: datetime,
    worker_id: Worker,
    handler: Handler,
    *,
    batch_size: int = 20,
    lease: timedelta = DEFAULT_LEASE,
    clock: Callable[[], datetime] | None = None,
) -> RunReport:
    """Fire every timer due at ``now`` (including all that fell due while no worker ran).

    A claimed batch is handled, then fired in one transaction: a crash before
    its commit leaves the whole batch pending for the next worker. With ``clock``
    (the real time), a batch whose handlers run long renews its lease as it goes."""
    report = RunReport()
    while True:
        with transaction(session_factory) as session:
            claimed = _claim_timers(session, now, worker_id, lease, batch_size)
        if not claimed:
            return report
        renewed = clock() if clock else now
        outcomes = []
        for timer in claimed:
            outcomes.append(_handle(handler, timer, report))
            if clock and clock() - renewed > lease / 3:  # the heartbeat, well inside the lease
                renewed = clock()
                renew_leases(session_factory, worker_id, renewed, lease)
        with transaction(session_factory) as session:
            for timer, messages in zip(claimed, outcomes, strict=True):
                if isinstance(messages, str):
                    _handler_failed(session, timer, messages, now, worker_id)
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
    worker_id: Worker,
    handler: Handler,
    sender: Sender | None = None,
    *,
    batch_size: int = 20,
    lease: timedelta = DEFAULT_LEASE,
    clock: Callable[[], datetime] | None = None,
    reclaim: bool = True,
) -> RunReport:
    """Fire what is due at ``now``; then, with a sender, deliver one batch of the outbox.
    With ``reclaim`` (and a :class:`WorkerIdentity`), first take back what dead
    predecessors of the worker's name held.

    One batch per pass, so receivers that time out delay the next timers by one batch
    at most; the loop comes straight back while there is work."""
    if reclaim and isinstance(worker_id, WorkerIdentity):
        take_back(session_factory, worker_id, now)
    report = fire_due_timers(session_factory, now, worker_id, handler,
                             batch_size=batch_size, lease=lease, clock=clock)
    if sender is not None:
        report.add(deliver_outbox(session_factory, now, sender, lease=lease, max_batches=1,
                                  worker=worker_id, clock=clock))
    return report


def run_forever(
    session_factory: sessionmaker[Session],
    worker_id: Worker,
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
    while there is work). A database error is logged and retried on the next pass.

    ``worker_id`` is best a :class:`WorkerIdentity` (``WorkerIdentity.new("serve:8345")``):
    its first successful pass takes back what dead predecessors of its name held."""
    reclaimed = False  # a predecessor's work is taken back once, on the first pass that succeeds
    try:
        while not stop.is_set():
            try:
                report = run_once(session_factory, clock(), worker_id, handler, sender,
                                  batch_size=batch_size, lease=lease, clock=clock,
                                  reclaim=not reclaimed)
                reclaimed = True
            except Exception:
                log.exception("timer worker %s: pass failed; retrying in %.0f s", worker_id, interval)
                stop.wait(interval)
                continue
            if not report.busy:
                stop.wait(interval)
    finally:
        if isinstance(worker_id, WorkerIdentity):
            worker_id.retire()
