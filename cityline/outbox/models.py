"""The outbox and what it feeds, as rows.

An outbox message is written in the same transaction as the change it tells
of, so it exists exactly when that change committed; the worker delivers it
afterwards. A console notification needs no delivery: being committed in the
unit's list *is* its delivery. A webhook is where a unit's own system wants
its messages POSTed.

Unit and order ids carry no foreign keys: units and orders belong to packages
above this one (the same rule as ``sla_timers.order_id``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityline.db import Base, UTCDateTime, utcnow

OUTBOX_STATES = ("pending", "sent", "failed")
# How a message leaves: "notice" through the configured sender for people (JSON lines in
# outbox.log today, an SMS gateway tomorrow), "webhook" as a signed HTTP POST.
CHANNELS = ("notice", "webhook")


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(16), default="notice", server_default="notice")
    recipient: Mapped[str] = mapped_column(String(120))  # unit code, "role:<name>" or "webhook:<id>"
    order_id: Mapped[int | None]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The worker identity (``cityline.outbox.identity``) holding it while in flight: its lease
    # is ``next_attempt_at``. A worker marks or sends only what it still holds.
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    # The same logical message is stored once, whoever writes it twice
    # (a timer's messages are keyed "timer:<id>:<n>").
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.kind} to={self.recipient} {self.state}>"


class Notification(Base):
    """A line in a unit's console: an order was dispatched to it, and so on."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_unit", "unit_id", "read_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int]
    unit_code: Mapped[str] = mapped_column(String(64))
    order_number: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)  # Chinese, naming the order by its number
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the facts, for other languages
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_by: Mapped[str | None] = mapped_column(String(100))


class Webhook(Base):
    """A unit's own system, told of the unit's orders by a signed JSON POST."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(index=True)
    unit_code: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2000))
    # Encrypted with the project's Vault: the worker needs the secret itself to sign every
    # delivery (so not a digest), and a copy of the database must not let anyone forge them.
    secret_enc: Mapped[str] = mapped_column(String(400))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(100))
