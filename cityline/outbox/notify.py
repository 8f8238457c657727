"""What the loop tells a unit when an order is dispatched to it: a line in its console
and a POST to each of its webhooks, written in the dispatching transaction.

The console notification is not routed through the worker: committed in the unit's
list, it is delivered — a worker pass would only add delay. Webhooks leave the
process, so they go through the outbox (after commit, retried, signed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cityline.errors import NotFound
from cityline.outbox import webhooks
from cityline.outbox.models import Notification
from cityline.outbox.rules import DISPATCHED, dispatch_text, local_text
from cityline.outbox.service import Message, enqueue
from cityline.taxonomy import load_taxonomy
from cityline.timeutil import local_zone


def _name(code: str | None) -> str | None:
    if not code:
        return None
    try:
        return load_taxonomy().name(code, "zh")
    except ValueError:  # a code the taxonomy no longer knows still names itself
        return code


def order_dispatched(
    session: Session, *, unit_id: int, unit_code: str, order_id: int | None, number: str,
    category: str | None, urgency: str | None, accept_by: datetime | None, resolve_by: datetime | None,
    kind: str = DISPATCHED, now: datetime,
) -> Notification:
    """Tell the unit (console and webhooks) that order ``number`` is now theirs: dispatched,
    re-dispatched or reopened (``kind``, one of ``rules.HEADS``)."""
    zone = local_zone()
    facts = {
        "order_number": number, "unit": unit_code, "category": category, "urgency": urgency,
        "deadline": resolve_by.isoformat() if resolve_by else None,
        "accept_by": accept_by.isoformat() if accept_by else None,
        "dispatched_at": now.isoformat(),
    }
    text = dispatch_text(kind, number, category=_name(category), urgency=_name(urgency),
                         accept_by=local_text(accept_by, zone), resolve_by=local_text(resolve_by, zone))
    note = Notification(unit_id=unit_id, unit_code=unit_code, order_number=number, kind=kind, text=text,
                        data=facts, created_at=now)
    session.add(note)
    for hook in webhooks.active_for_unit(session, unit_id):
        enqueue(session, Message(kind, f"webhook:{hook.id}", order_id,
                                 {"webhook_id": hook.id, "event": facts}, channel="webhook"), now)
    session.flush()
    return note


# ---------------------------------------------------------------- reading a unit's notifications

def _within(stmt, unit_ids: frozenset[int] | None):
    return stmt if unit_ids is None else stmt.where(Notification.unit_id.in_(unit_ids))


def notifications(session: Session, unit_ids: frozenset[int] | None, *, unread_only: bool = False,
                  limit: int = 50) -> tuple[list[Notification], int]:
    """The notifications of these units (None: every unit), unread first then newest,
    and how many are unread."""
    stmt = _within(select(Notification), unit_ids)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    stmt = stmt.order_by(Notification.read_at.is_not(None), Notification.created_at.desc(),
                         Notification.id.desc()).limit(limit)
    unread = session.scalar(_within(select(func.count()).select_from(Notification), unit_ids)
                            .where(Notification.read_at.is_(None)))
    return list(session.scalars(stmt)), unread or 0


def get(session: Session, notification_id: int, unit_ids: frozenset[int] | None) -> Notification:
    """One notification; outside these units it does not exist (404, as for a missing one)."""
    note = session.get(Notification, notification_id)
    if note is None or (unit_ids is not None and note.unit_id not in unit_ids):
        raise NotFound(f"no notification {notification_id}")
    return note


def mark_read(session: Session, notification_id: int, unit_ids: frozenset[int] | None, *, actor: str,
              now: datetime) -> Notification:
    """Mark read (once: the first reader and time stay)."""
    note = get(session, notification_id, unit_ids)
    session.execute(update(Notification)
                    .where(Notification.id == note.id, Notification.read_at.is_(None))
                    .values(read_at=now, read_by=actor))
    session.refresh(note)
    return note
