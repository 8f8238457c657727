"""Outbox messages through a session. Nothing here commits: the caller owns the
transaction, so a message is stored exactly when the change that caused it commits
(and a rolled-back change leaves no message to deliver)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cityline.db import utcnow
from cityline.errors import Conflict, Invalid, NotFound
from cityline.outbox.models import CHANNELS, OUTBOX_STATES, OutboxMessage


@dataclass(frozen=True)
class Message:
    """A message to store in the outbox and deliver after commit."""

    kind: str
    recipient: str  # unit code, "role:<name>" or "webhook:<id>"
    order_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    dedupe_key: str | None = None  # the same key is stored only once
    channel: str = "notice"


def enqueue(session: Session, message: Message, now: datetime | None = None) -> OutboxMessage | None:
    """Store a message for delivery after commit, in the caller's transaction. None when
    its ``dedupe_key`` is already stored (the message exists once).

    One ``INSERT … ON CONFLICT DO NOTHING``: two writers racing with the same key
    store it once, and neither fails (a read-then-insert would let the slower one
    hit the unique key and lose its whole transaction)."""
    if message.channel not in CHANNELS:
        raise ValueError(f"unknown outbox channel {message.channel!r}; known: {', '.join(CHANNELS)}")
    now = now or utcnow()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(OutboxMessage).values(
        created_at=now, kind=message.kind, channel=message.channel, recipient=message.recipient,
        order_id=message.order_id, payload=dict(message.payload), state="pending", attempts=0,
        next_attempt_at=now, dedupe_key=message.dedupe_key,
    )
    if message.dedupe_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=[OutboxMessage.dedupe_key])
    new_id = session.execute(stmt.returning(OutboxMessage.id)).scalar_one_or_none()
    return session.get(OutboxMessage, new_id) if new_id is not None else None


def messages(session: Session, state: str | None = None, limit: int = 100) -> list[OutboxMessage]:
    """The newest messages (of ``state``): what an admin looks at when deliveries fail."""
    if state is not None and state not in OUTBOX_STATES:
        raise Invalid(f"unknown outbox state {state!r}; known: {', '.join(OUTBOX_STATES)}")
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if state is not None:
        stmt = stmt.where(OutboxMessage.state == state)
    return list(session.scalars(stmt))


def retry(session: Session, message_id: int, now: datetime | None = None) -> OutboxMessage:
    """Give a failed message a fresh set of attempts (after its receiver was fixed)."""
    row = session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no outbox message {message_id}")
    if row.state != "failed":
        raise Conflict(f"outbox message {message_id} is {row.state}; only failed ones are retried")
    row.state, row.attempts, row.next_attempt_at = "pending", 0, now or utcnow()
    return row
