"""Near-duplicate orders (并单 candidates): the same problem at the same place, or the same
caller, within a time window, across channels. Shown to a person, they are only orders
within that person's reach: outside it an order does not exist, not even as a candidate."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, bindparam, select
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


def score(order: Order, other, order_bigrams: set[str] | None = None,
          other_bigrams: set[str] | None = None) -> tuple[float, list[str]]:
    """How likely ``other`` (an order or a row with the same fields) reports the same thing, and why."""
    value, reasons = similarity(order_bigrams or order.text, other_bigrams or other.text), []
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
    return duplicates_of(session, [order], reach=reach, threshold=threshold, limit=limit)[0]


# Only the columns scoring needs: this runs inside the intake transaction.
_COLUMNS = (Order.number, Order.text, Order.caller_phone_digest, Order.street, Order.category,
            Order.channel, Order.status, Order.received_at)


def _looking(alike, reach: OrderFilter | None, stored: bool):
    """The candidates alike in one way, newest first along that way's own index; the order's
    values and window are bound when it is run, so a page of orders runs one statement."""
    query = select(*_COLUMNS).where(alike, Order.received_at >= bindparam("since"),
                                    Order.received_at <= bindparam("at"), Order.status.not_in(sorted(WITHDRAWN)))
    if stored:  # a stored order is not its own duplicate (a new one is not stored yet)
        query = query.where(Order.id != bindparam("id"))
    if reach is not None:
        query = filtered(query, reach)
    return query.order_by(Order.received_at.desc()).limit(50)


def duplicates_of(session: Session, orders: Sequence[Order], *, reach: OrderFilter | None = None,
                  threshold: float = 0.4, limit: int = 5) -> list[list[dict[str, Any]]]:
    """:func:`find_duplicates` of each of ``orders`` (the dispatcher's queue asks it for a page):
    each way's statement is built once, and a candidate's words are split once however many
    of the orders it is a candidate of."""
    window = timedelta(hours=get_settings().duplicate_window_hours)
    ways: dict[tuple[str, bool], Any] = {}

    def way(name: str, stored: bool):
        if (name, stored) not in ways:
            alike = (and_(Order.category == bindparam("category"), Order.district == bindparam("district"))
                     if name == "place" else Order.caller_phone_digest == bindparam("digest"))
            ways[name, stored] = _looking(alike, reach, stored)
        return ways[name, stored]

    words: dict[str, set[str]] = {}
    found_all = []
    for order in orders:
        params = {"since": order.received_at - window, "at": order.received_at, "id": order.id,
                  "category": order.category, "district": order.district, "digest": order.caller_phone_digest}
        # One query per way of being alike: as one query with OR, SQLite merged both indexes and
        # sorted every match of a busy category and district.
        candidates: dict[str, Any] = {}
        for name, given in (("place", order.category and order.district), ("caller", order.caller_phone_digest)):
            if given:
                for other in session.execute(way(name, order.id is not None), params):
                    candidates.setdefault(other.number, other)
        found, mine = [], bigrams(order.text)
        for other in sorted(candidates.values(), key=lambda row: row.received_at, reverse=True):
            theirs = words.get(other.number)
            if theirs is None:
                theirs = words[other.number] = bigrams(other.text)
            value, reasons = score(order, other, mine, theirs)
            if value >= threshold:
                found.append({"number": other.number, "score": round(value, 3), "reasons": reasons,
                              "channel": other.channel, "status": other.status})
        found_all.append(sorted(found, key=lambda d: -d["score"])[:limit])
    return found_all
