"""HTTP for what the outbox feeds: a unit's console notifications (its own and its
sub-units'), and, for admins, the units' webhooks and the messages that failed.

These routes live here, not in ``outbox/``, because they need who is asking and
the unit tree, which sit above the outbox (it imports only the kernel)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cityline.accounts.deps import Deps, deps
from cityline.accounts.service import audit
from cityline.accounts.units import active_unit
from cityline.db import read_transaction, transaction, utcnow
from cityline.limits import RowId
from cityline.outbox import notify, service, webhooks
from cityline.outbox.schemas import (
    NotificationList,
    NotificationRead,
    OutboxMessageRead,
    WebhookCreate,
    WebhookRead,
)

router = APIRouter(tags=["notifications"])
D = Annotated[Deps, Depends(deps)]


@router.get("/api/notifications", response_model=NotificationList)
def notifications(d: D, unread: bool = False, limit: Annotated[int, Query(ge=1, le=200)] = 50
                  ) -> NotificationList:
    """The notifications of the signed-in user's unit and the units below it (city-centre
    staff: every unit), unread first, then newest; ``?unread=true`` for unread only."""
    d.require("orders:read")
    with read_transaction(d.sessions) as session:
        found, unread_count = notify.notifications(session, d.principal.reach, unread_only=unread,
                                                   limit=limit)
        return NotificationList(unread=unread_count, items=[NotificationRead.of(n) for n in found])


@router.post("/api/notifications/{notification_id}/read", response_model=NotificationRead)
def read(notification_id: RowId, d: D) -> NotificationRead:
    """Mark a notification read (404 outside the reader's units, as for a missing one)."""
    d.require("orders:read")
    with transaction(d.sessions) as session:
        note = notify.mark_read(session, notification_id, d.principal.reach, actor=d.actor, now=utcnow())
        return NotificationRead.of(note)


@router.get("/api/webhooks", response_model=list[WebhookRead])
def list_webhooks(d: D, removed: bool = False) -> list[WebhookRead]:
    """The units' webhooks (never their secrets); ``?removed=true`` includes removed ones."""
    d.require("outbox:admin")
    with read_transaction(d.sessions) as session:
        return [WebhookRead.of(h) for h in webhooks.list_webhooks(session, include_removed=removed)]


@router.post("/api/webhooks", status_code=201, response_model=WebhookRead)
def add_webhook(body: WebhookCreate, d: D) -> WebhookRead:
    """A unit's orders will be POSTed to ``url``; the answer is the only time the secret is shown."""
    d.require("outbox:admin")
    with transaction(d.sessions) as session:
        unit = active_unit(session, body.unit)
        hook, secret = webhooks.add(session, d.vault, unit_id=unit.id, unit_code=unit.code, url=body.url,
                                    actor=d.actor)
        audit(session, d.actor, "webhook_added", f"webhook:{hook.id}", unit=unit.code, url=hook.url)
        return WebhookRead.of(hook, secret)


@router.delete("/api/webhooks/{webhook_id}", status_code=204)
def remove_webhook(webhook_id: RowId, d: D) -> None:
    d.require("outbox:admin")
    with transaction(d.sessions) as session:
        hook = webhooks.remove(session, webhook_id)
        audit(session, d.actor, "webhook_removed", f"webhook:{hook.id}", unit=hook.unit_code, url=hook.url)


@router.get("/api/outbox", response_model=list[OutboxMessageRead])
def outbox(d: D, state: str = "failed", limit: Annotated[int, Query(ge=1, le=500)] = 100
           ) -> list[OutboxMessageRead]:
    """Outbox messages, newest first; by default those given up on (``failed``), with their
    last error. ``?state=pending``, ``sent`` or ``all``."""
    d.require("outbox:admin")
    with read_transaction(d.sessions) as session:
        found = service.messages(session, None if state == "all" else state, limit)
        return [OutboxMessageRead.of(m) for m in found]


@router.post("/api/outbox/{message_id}/retry", response_model=OutboxMessageRead)
def retry(message_id: RowId, d: D) -> OutboxMessageRead:
    """Give a failed message a fresh set of attempts (once its receiver is fixed)."""
    d.require("outbox:admin")
    with transaction(d.sessions) as session:
        row = service.retry(session, message_id, utcnow())
        audit(session, d.actor, "outbox_retry", f"outbox:{row.id}")
        return OutboxMessageRead.of(row)
