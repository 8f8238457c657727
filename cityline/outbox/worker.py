"""Deliver the outbox: claim due messages, hand each to a sender after commit, mark it.

1. *Claim* (own transaction): pending messages whose next attempt is due are
   locked with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (so several
   workers take disjoint rows), or under SQLite's single writer lock (``BEGIN
   IMMEDIATE``, one worker); the claim counts the attempt and holds the message
   for a lease by moving its next attempt past it, then commits.
2. *Send*, outside any transaction: nothing is held open while a receiver answers.
3. *Mark* (own transaction per message): sent; or the error, backed off (30 s,
   1 min, 2 min … an hour) and, after ``max_attempts``, ``failed`` for an admin.

Delivery is at-least-once: a crash between a send and its mark repeats that one
message once the lease runs out (at once when a worker of the same name restarts:
``cityline.outbox.identity``). Each delivery carries its outbox id so a
receiver can drop the repeat.

Leases are short (:data:`DEFAULT_LEASE`) and held in ``claimed_by``: just before
each send the worker renews the message's lease *only if it still holds it*
(``UPDATE … WHERE claimed_by = me``), which is also its heartbeat while a slow
batch goes out; a worker that lost a message to another does not send it, and
marks only what it still holds.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityline.db import transaction
from cityline.outbox.identity import WorkerIdentity, holder_text
from cityline.outbox.models import OutboxMessage
from cityline.outbox.rules import MAX_ATTEMPTS, after_failure

log = logging.getLogger(__name__)

# Short, because the holder renews it while it works (see above): a dead worker's messages
# wait this long at most for another worker.
DEFAULT_LEASE = timedelta(seconds=30)


@dataclass(frozen=True)
class OutboxItem:
    """An outbox message as plain values (what a sender sees)."""

    id: int
    kind: str
    recipient: str
    order_id: int | None
    payload: dict[str, Any]
    attempts: int  # this attempt's number, counting from 1
    created_at: datetime
    channel: str = "notice"


Sender = Callable[[OutboxItem], None]


class GiveUp(Exception):
    """A failure no retry can mend (the webhook was removed): mark the message failed now."""


@dataclass
class DeliveryReport:
    sent: int = 0
    send_errors: int = 0
    failed: int = 0  # given up: for an admin to look at
    lost: int = 0  # held by another worker by the time this one would send: not sent
    errors: list[str] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return bool(self.sent or self.send_errors)


def claim(session: Session, now: datetime, lease: timedelta, limit: int,
          worker: str | WorkerIdentity | None = None) -> list[OutboxItem]:
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    items = []
    for row in rows:
        row.attempts = (row.attempts or 0) + 1
        row.next_attempt_at = now + lease  # held by this worker until sent or failed
        row.claimed_by = holder_text(worker) if worker is not None else None
        items.append(OutboxItem(row.id, row.kind, row.recipient, row.order_id, dict(row.payload or {}),
                                row.attempts, row.created_at, row.channel))
    return items


def _outcome(item: OutboxItem, sender: Sender, now: datetime, max_attempts: int,
             report: DeliveryReport) -> dict[str, Any]:
    """Send one message; the values to mark it with."""
    try:
        sender(item)
    except Exception as exc:  # any receiver's failure is this message's, never the worker's
        log.warning("outbox message %s (%s) to %s, attempt %s, failed: %r",
                    item.id, item.kind, item.recipient, item.attempts, exc)
        report.send_errors += 1
        report.errors.append(f"message {item.id}: {exc!r}")
        state, next_attempt = after_failure(item.attempts, now, max_attempts)
        if isinstance(exc, GiveUp):
            state = "failed"
        report.failed += state == "failed"
        # claimed_by cleared: the back-off is a not-before time, not a lease anyone renews
        return {"state": state, "last_error": repr(exc)[:2000], "next_attempt_at": next_attempt,
                "claimed_by": None}
    report.sent += 1
    return {"state": "sent", "sent_at": now, "last_error": None}


def _still_held(session: Session, item: OutboxItem, holder: str, now: datetime,
                lease: timedelta) -> bool:
    """Renew the lease of a message this worker still holds (its heartbeat); False when
    another worker has claimed it since, or it is no longer pending: then do not send."""
    outbox = OutboxMessage.__table__
    return session.execute(
        outbox.update()
        .where(outbox.c.id == item.id, outbox.c.state == "pending", outbox.c.claimed_by == holder)
        .values(next_attempt_at=now + lease)
    ).rowcount == 1


def renew(session: Session, holder: str, now: datetime, lease: timedelta) -> int:
    """The heartbeat: extend the lease of every message ``holder`` still holds."""
    outbox = OutboxMessage.__table__
    return session.execute(
        outbox.update()
        .where(outbox.c.state == "pending", outbox.c.claimed_by == holder)
        .values(next_attempt_at=now + lease)
    ).rowcount


def deliver_outbox(
    session_factory: sessionmaker[Session],
    now: datetime,
    sender: Sender,
    *,
    batch_size: int = 50,
    lease: timedelta = DEFAULT_LEASE,
    max_attempts: int = MAX_ATTEMPTS,
    max_batches: int | None = None,
    worker: str | WorkerIdentity | None = None,
    clock: Callable[[], datetime] | None = None,
) -> DeliveryReport:
    """Send the messages due at ``now`` (at most ``max_batches`` claims, default: all);
    mark each sent, or count the failure and back off (``failed`` after ``max_attempts``).

    ``worker`` holds what it claims (default: a holder unique to this call); ``clock``
    (default: ``now`` throughout) is when each renewal happens, so a long batch keeps its
    lease running while it sends."""
    report = DeliveryReport()
    # Unique even without a worker: two callers sharing a holder could not tell their claims apart.
    holder = holder_text(worker) if worker is not None else f"outbox:{secrets.token_hex(6)}"
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        with transaction(session_factory) as session:
            items = claim(session, now, lease, batch_size, holder)
        if not items:
            break
        outbox = OutboxMessage.__table__
        renewed = now
        for item in items:
            at = clock() if clock else now
            with transaction(session_factory) as session:
                if at - renewed > lease / 3:  # heartbeat: the batch's later messages stay held
                    renewed = at
                    renew(session, holder, at, lease)
                held = _still_held(session, item, holder, at, lease)
            if not held:  # the lease ran out and another worker has it: sending would repeat it
                report.lost += 1
                continue
            values = _outcome(item, sender, now, max_attempts, report)
            with transaction(session_factory) as session:  # one mark per send: a crash repeats one
                session.execute(
                    outbox.update()
                    .where(outbox.c.id == item.id, outbox.c.state == "pending",
                           outbox.c.claimed_by == holder)
                    .values(**values)
                )
    return report
