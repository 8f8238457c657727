"""Reads the console needs beyond the API's own lists: orders coming due, escalated orders,
and why returned orders came back. Never commits; the page's transaction does."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityline.orders.models import Order, OrderEvent
from cityline.orders.schemas import OrderRead
from cityline.orders.service import OrderFilter, describe, filtered
from cityline.sla.models import Timer
from cityline.sla.rules import OVERDUE_ESCALATION


def _page(session: Session, query, limit: int) -> tuple[list[OrderRead], int]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Order.resolve_by, Order.id).limit(limit))
    return [describe(session, order) for order in rows], total


def due_soon(session: Session, reach: OrderFilter, now: datetime, until: datetime,
             limit: int = 100) -> tuple[list[OrderRead], int]:
    """Open orders whose resolution deadline falls between now and ``until`` (not yet overdue,
    clock running), nearest first."""
    query = filtered(select(Order), replace(reach, open=True, due_before=until)).where(
        Order.resolve_by >= now, Order.paused.is_(False))
    return _page(session, query, limit)


def escalated(session: Session, reach: OrderFilter, limit: int = 100) -> tuple[list[OrderRead], int]:
    """Open orders whose overdue escalation (督办) has fired, earliest deadline first."""
    fired = select(Timer.order_id).where(Timer.kind == OVERDUE_ESCALATION, Timer.state == "fired")
    query = filtered(select(Order).where(Order.id.in_(fired)), replace(reach, open=True))
    return _page(session, query, limit)


def return_reasons(session: Session, numbers: list[str]) -> dict[str, str]:
    """The reason of each order's latest return (退单), for the dispatcher deciding where next."""
    if not numbers:
        return {}
    rows = session.execute(
        select(Order.number, OrderEvent.data).join(OrderEvent, OrderEvent.order_id == Order.id)
        .where(Order.number.in_(numbers), OrderEvent.action == "return").order_by(OrderEvent.id))
    return {number: str((data or {}).get("reason") or "") for number, data in rows}
