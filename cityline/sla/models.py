"""Durable timers, as rows.

A timer is a reminder due at a time; a worker claims due timers (a lease:
``claimed_by`` / ``claimed_until``) and marks them fired in the same transaction
that stores the outbox messages they produce (``cityline.outbox``), delivered
after commit. ``order_id`` has no foreign key: orders belong to another package.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityline.db import Base, UTCDateTime, utcnow

TIMER_STATES = ("pending", "fired", "cancelled")


class Timer(Base):
    __tablename__ = "sla_timers"
    __table_args__ = (
        Index("ix_sla_timers_due", "state", "due_at"),
        # An order's timers by state, and kind: whether its overdue escalation fired (the board
        # asks it of every open order of a reach) from this index alone.
        Index("ix_sla_timers_order_kind", "order_id", "state", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int]
    # What its messages call the order (20200128-00042): the worker knows no orders.
    order_number: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(40))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    recipient: Mapped[str | None] = mapped_column(String(120))
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Timer {self.id} order={self.order_id} {self.kind} {self.state} due={self.due_at}>"
