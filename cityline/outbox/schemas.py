"""What crosses the API for notifications, webhooks and the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from cityline.limits import RequestBody
from cityline.outbox.models import Notification, OutboxMessage, Webhook


class NotificationRead(BaseModel):
    id: int
    unit: str
    order_number: str | None
    kind: str
    text: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None
    read_by: str | None

    @classmethod
    def of(cls, note: Notification) -> NotificationRead:
        return cls(id=note.id, unit=note.unit_code, order_number=note.order_number, kind=note.kind,
                   text=note.text, data=note.data or {}, created_at=note.created_at, read_at=note.read_at,
                   read_by=note.read_by)


class NotificationList(BaseModel):
    unread: int  # of all the reader's notifications, not only those listed
    items: list[NotificationRead]


class WebhookCreate(RequestBody):
    unit: str = Field(max_length=64, description="code of the unit whose orders are POSTed")
    url: str = Field(max_length=2000, description="http:// or https:// address of the receiver")


class WebhookRead(BaseModel):
    id: int
    unit: str
    url: str
    active: bool
    created_at: datetime
    created_by: str | None
    secret: str | None = Field(default=None, description="only in the answer that created it")

    @classmethod
    def of(cls, hook: Webhook, secret: str | None = None) -> WebhookRead:
        return cls(id=hook.id, unit=hook.unit_code, url=hook.url, active=hook.active,
                   created_at=hook.created_at, created_by=hook.created_by, secret=secret)


class OutboxMessageRead(BaseModel):
    id: int
    kind: str
    channel: str
    recipient: str
    order_number: str | None
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None

    @classmethod
    def of(cls, row: OutboxMessage) -> OutboxMessageRead:
        payload = row.payload or {}
        number = payload.get("order_number") or payload.get("event", {}).get("order_number")
        return cls(id=row.id, kind=row.kind, channel=row.channel, recipient=row.recipient, order_number=number,
                   state=row.state, attempts=row.attempts, created_at=row.created_at,
                   next_attempt_at=row.next_attempt_at, sent_at=row.sent_at, last_error=row.last_error)
