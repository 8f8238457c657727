"""Near-duplicate orders (并单 candidates): the same problem at the same place, or the same
caller, within a time window, across channels. Shown to a person, they are only orders
within that person's reach: outside it an order does not exist, not even as a candidate."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from cityline.config import get_settings
from cityline.orders.models import Order
from cityline.orders.queries import OrderFilter, filtered
from cityline.orders.rules import WITHDRAWN

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def bigrams(text: str) -> set[str]:
    """Character bigrams of the text without spaces and punctuation (works for Chinese)."""
    chars = _NOISE.sub("", text.lower())
    return {chars[i:i + 2] for i in range(len(chars) - 1)} or {chars}


def similarity(a: str | set[str], b: str | set[str]) -> float:
    """Jaccard overlap of character bigrams: 1.0 same words, 0.0 nothing shared."""
    x = a if isinstance(a, set) else bigrams(a)
    y = b if isinstance(b, set) else bigrams(b)
    return len(x & y) / len(x | y) if x and y else 0.0


def score(order: Order, other, order_bigrams: set[str] | None = None) -> tuple[float, list[str]]:
    """How likely ``other`` (an order or a row with the same fields) reports the same thing, and why."""
    value, reasons = similarity(order_bigrams or order.text, other.text), []
    if value >= 0.2:
        reasons.append(f"文本相似 {value:.2f}")
    if order.caller_phone_digest and order.caller_phone_digest == other.caller_phone_digest:
        value += 0.3
        reasons.append("同一来电号码")
    if order.street and order.street == other.street:
        value += 0.1
        reasons.append(f"同一地点 {order.street}")
    if order.category and order.category == other.category:
        reasons.append(f"同一类别 {order.category}")
    return min(value, 1.0), reasons


def find_duplicates(session: Session, order: Order, *, reach: OrderFilter | None = None,
                    threshold: float = 0.4, limit: int = 5) -> list[dict[str, Any]]:
    """Earlier open or recent orders that look like the same request, best first.

    "Recent" is the ``duplicate_window_hours`` setting, read here and nowhere else, so
    auto-dispatch, the operator's preview, the duplicates route and the dispatcher's
    queue all look back equally far. ``reach`` (the asker's, as for lists) narrows the
    candidates in SQL, before scoring and the limit, so a foreign order neither shows nor
    takes the place of one the asker may see. None means the whole city: intake's own
    look for auto-dispatch.
    """
    since = order.received_at - timedelta(hours=get_settings().duplicate_window_hours)
    same_place = and_(Order.category == order.category, Order.district == order.district) if (
        order.category and order.district) else None
    same_caller = Order.caller_phone_digest == order.caller_phone_digest if order.caller_phone_digest else None
    # Only the columns scoring needs: this runs inside the intake transaction.
    columns = (Order.number, Order.text, Order.caller_phone_digest, Order.street, Order.category,
               Order.channel, Order.status, Order.received_at)
    # One query per way of being alike, each read newest first along its own index: as one query
    # with OR, SQLite merged both indexes and sorted every match of a busy category and district.
    candidates: dict[str, Any] = {}
    for alike in (c for c in (same_place, same_caller) if c is not None):
        query = select(*columns).where(alike, Order.received_at >= since, Order.received_at <= order.received_at,
                                       Order.status.not_in(sorted(WITHDRAWN)))
        if order.id is not None:  # a stored order is not its own duplicate (a new one is not stored yet)
            query = query.where(Order.id != order.id)
        if reach is not None:
            query = filtered(query, reach)
        for other in session.execute(query.order_by(Order.received_at.desc()).limit(50)):
            candidates.setdefault(other.number, other)
    found, mine = [], bigrams(order.text)
    for other in sorted(candidates.values(), key=lambda row: row.received_at, reverse=True):
        value, reasons = score(order, other, mine)
        if value >= threshold:
            found.append({"number": other.number, "score": round(value, 3), "reasons": reasons,
                          "channel": other.channel, "status": other.status})
    return sorted(found, key=lambda d: -d["score"])[:limit]
