"""Near-duplicate orders (并单 candidates): the same problem at the same place, or the same
caller, within a time window, across channels. Shown to a person, they are only orders
within that person's reach: outside it an order does not exist, not even as a candidate."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ARRAY,
    BigInteger,
    DateTime,
    Integer,
    String,
    and_,
    bindparam,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from cityline.config import get_settings
from cityline.orders.models import Order
from cityline.orders.queries import OrderFilter, filtered
from cityline.orders.rules import WITHDRAWN

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def bigrams(text: str) -> frozenset[str]:
    """Character bigrams of the text without spaces and punctuation (works for Chinese)."""
    # Kept for short texts (what calls are): the same candidates are scored against every new
    # order of a busy place, and a few thousand short texts' bigrams take a few megabytes.
    return _kept_bigrams(text) if len(text) <= _KEPT_LENGTH else _bigrams(text)


_KEPT_LENGTH = 400


@lru_cache(maxsize=4096)
def _kept_bigrams(text: str) -> frozenset[str]:
    return _bigrams(text)


def _bigrams(text: str) -> frozenset[str]:
    chars = _NOISE.sub("", text.lower())
    return frozenset({chars[i:i + 2] for i in range(len(chars) - 1)} or {chars})


def similarity(a: str | frozenset[str], b: str | frozenset[str]) -> float:
    """Jaccard overlap of character bigrams: 1.0 same words, 0.0 nothing shared."""
    x = a if isinstance(a, frozenset) else bigrams(a)
    y = b if isinstance(b, frozenset) else bigrams(b)
    if not (x and y):
        return 0.0
    shared = len(x & y)
    return shared / (len(x) + len(y) - shared)  # the size of x | y, without building it


def score(order, other, order_bigrams: frozenset[str] | None = None,
          threshold: float = 0.0) -> tuple[float, list[str]]:
    """How likely ``other`` reports what ``order`` does, and why (each an order or a row with
    the same fields); below ``threshold`` without the why (a queue page scores ~600 candidates
    and shows a few)."""
    text_alike = similarity(order_bigrams or order.text, other.text)
    same_caller = bool(order.caller_phone_digest) and order.caller_phone_digest == other.caller_phone_digest
    same_place = bool(order.street) and order.street == other.street
    value = min(text_alike + 0.3 * same_caller + 0.1 * same_place, 1.0)
    if value < threshold:
        return value, []
    reasons = [f"文本相似 {text_alike:.2f}"] if text_alike >= 0.2 else []
    if same_caller:
        reasons.append("同一来电号码")
    if same_place:
        reasons.append(f"同一地点 {order.street}")
    if order.category and order.category == other.category:
        reasons.append(f"同一类别 {order.category}")
    return value, reasons


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


def window_hours() -> int:
    """How far back duplicates are looked for: read here and nowhere else (see find_duplicates)."""
    return get_settings().duplicate_window_hours


# Only the columns scoring needs: this runs inside the intake transaction.
COLUMNS = (Order.id, Order.number, Order.text, Order.caller_phone_digest, Order.street, Order.category,
           Order.channel, Order.status, Order.received_at)
# Newest first; orders received at the same moment (a batch) newest recorded first, so the
# candidates and their order do not depend on how the database happens to read ties.
NEWEST_FIRST = (Order.received_at.desc(), Order.id.desc())
CANDIDATES = 50  # read per way of being alike
_ARMS = 200  # queries joined in one statement (SQLite takes at most 500)


class _Facts(NamedTuple):
    text: str
    caller_phone_digest: str | None
    street: str | None
    category: str | None


def _looking(alike, reach: OrderFilter | None, stored: bool):
    """The candidates alike in one way, newest first along that way's own index; the order's
    values and window are bound when it is run, so a page of orders runs one statement."""
    query = select(*COLUMNS).where(alike, Order.received_at >= bindparam("since"),
                                   Order.received_at <= bindparam("at"), Order.status.not_in(sorted(WITHDRAWN)))
    if stored:  # a stored order is not its own duplicate (a new one is not stored yet)
        query = query.where(Order.id != bindparam("id"))
    if reach is not None:
        query = filtered(query, reach)
    return query.order_by(*NEWEST_FIRST).limit(CANDIDATES)


_ALIKE = {"place": lambda: and_(Order.category == bindparam("category"), Order.district == bindparam("district")),
          "caller": lambda: Order.caller_phone_digest == bindparam("digest")}


def _alike_statement(ways: tuple[str, ...], reach: OrderFilter | None, stored: bool):
    """One statement for the candidates of every way in ``ways``: each way's own query (read along
    its own index, as two queries would) joined by UNION ALL, its rows marked with the way."""
    arms = [_looking(_ALIKE[way](), reach, stored).add_columns(literal(way).label("way")).subquery()
            for way in ways]
    return union_all(*(select(arm) for arm in arms)) if len(arms) > 1 else select(arms[0])


# Intake's own look (the whole city) for a new order, on every create: built once.
_INTAKE_LOOKS = {ways: _alike_statement(ways, None, False) for ways in (("place", "caller"), ("place",), ("caller",))}


def duplicates_of(session: Session, orders: Sequence[Order], *, reach: OrderFilter | None = None,
                  threshold: float = 0.4, limit: int = 5) -> list[list[dict[str, Any]]]:
    """:func:`find_duplicates` of each of ``orders``: for a page of stored orders (the dispatcher's
    queue) the candidates of them all in one statement; else each order's candidates in one
    statement, built once (and a candidate's words are split once: ``bigrams`` keeps them)."""
    window = timedelta(hours=window_hours())
    if len(orders) > 1 and all(order.id is not None for order in orders):
        return [rank(order, alike, threshold=threshold, limit=limit)
                for order, alike in zip(orders, _page_candidates(session, orders, window, reach), strict=True)]
    statements: dict[tuple[tuple[str, ...], bool], Any] = {}

    def looking(ways: tuple[str, ...], stored: bool):
        if reach is None and not stored:
            return _INTAKE_LOOKS[ways]
        if (ways, stored) not in statements:
            statements[ways, stored] = _alike_statement(ways, reach, stored)
        return statements[ways, stored]

    found_all = []
    for order in orders:
        ways = tuple(name for name, given in _ways(order) if given)
        if not ways:
            found_all.append([])
            continue
        params = {"since": order.received_at - window, "at": order.received_at, "id": order.id,
                  "category": order.category, "district": order.district, "digest": order.caller_phone_digest}
        # One query per way of being alike, run as one statement: as one query with OR, SQLite
        # merged both indexes and sorted every match of a busy category and district.
        rows = session.connection().execute(looking(ways, order.id is not None), params).all()  # plain rows
        alike = [sorted((row for row in rows if row.way == way), key=lambda row: (row.received_at, row.id),
                        reverse=True) for way in ways]  # each way's newest first, as its own query reads them
        found_all.append(rank(order, alike, threshold=threshold, limit=limit))
    return found_all


def _ways(order: Order) -> tuple[tuple[str, Any], ...]:
    """Each way of being alike, and whether the order can be alike that way."""
    return ("place", order.category and order.district), ("caller", order.caller_phone_digest)


def _page_candidates(session: Session, orders: Sequence[Order], window: timedelta,
                     reach: OrderFilter | None) -> list[list[list[Any]]]:
    """Each stored order's candidates, a list per way of being alike (newest first), read as
    :func:`_looking` reads them, all in one statement (a statement per order and way cost more
    than its read: 40 round trips for a page of 20 on PostgreSQL)."""
    arms: list[tuple[str, Order]] = []  # (way, order) of each arm, in the statement's order
    found: list[list[list[Any]]] = [[] for _ in orders]
    rows_of_arm: list[list[Any]] = []
    for position, order in enumerate(orders):
        for way, given in _ways(order):
            if given:
                arms.append((way, order))
                rows_of_arm.append([])
                found[position].append(rows_of_arm[-1])
    read = _lateral_arms if session.get_bind().dialect.name == "postgresql" else _union_arms
    for arm, row in read(session, arms, window, _reach_key(reach)):
        rows_of_arm[arm].append(row)
    for rows in rows_of_arm:  # newest first, as each arm read them (a union keeps no order)
        rows.sort(key=lambda row: (row.received_at, row.id), reverse=True)
    return found


def _union_arms(session: Session, arms: list[tuple[str, Order]], window: timedelta,
                reach: tuple[Any, ...] | None) -> list[tuple[int, Any]]:
    """SQLite: the arms joined by UNION ALL, each arm's values bound by its position; (arm, row)."""
    rows = []
    for first in range(0, len(arms), _ARMS):
        chunk = arms[first:first + _ARMS]
        params: dict[str, Any] = {}
        for k, (way, order) in enumerate(chunk):
            params |= {f"a{k}_since": order.received_at - window, f"a{k}_at": order.received_at, f"a{k}_id": order.id}
            params |= ({f"a{k}_category": order.category, f"a{k}_district": order.district} if way == "place"
                       else {f"a{k}_digest": order.caller_phone_digest})
        statement = _page_statement(tuple(way for way, _ in chunk), reach)
        rows += [(first + row.arm, row) for row in session.connection().execute(statement, params).all()]
    return rows


def _lateral_arms(session: Session, arms: list[tuple[str, Order]], window: timedelta,
                  reach: tuple[Any, ...] | None) -> list[tuple[int, Any]]:
    """PostgreSQL: each way's query once, LATERAL for each arm's values given as arrays (the
    union's 40 arms were planned anew at every run: 10 ms, for a read of 2 ms)."""
    params: dict[str, list[Any]] = {f"{way}_{name}": [] for way, alike_in in _LATERAL.items()
                                    for name in ("arm", *alike_in, "since", "until", "id")}
    for k, (way, order) in enumerate(arms):
        values = {"arm": k, "category": order.category, "district": order.district,
                  "digest": order.caller_phone_digest, "since": order.received_at - window,
                  "until": order.received_at, "id": order.id}
        for name in ("arm", *_LATERAL[way], "since", "until", "id"):
            params[f"{way}_{name}"].append(values[name])
    return [(row.arm, row) for row in session.connection().execute(_page_lateral(reach), params).all()]


_LATERAL = {"place": ("category", "district"), "caller": ("digest",)}  # what each way's arms are alike in


@lru_cache(maxsize=64)
def _page_lateral(reach: tuple[Any, ...] | None):
    """PostgreSQL's statement for :func:`_page_candidates`: for each way of being alike, the arms'
    values as arrays (``<way>_arm``, ``<way>_since``, …), each arm's candidates read LATERAL along
    the way's own index, as :func:`_looking` reads them. Its text does not grow with the page."""
    narrowed = _filter_of(reach)
    reads = []
    for way, alike_in in _LATERAL.items():
        names = ("arm", *alike_in, "since", "until", "id")
        types = {"arm": ARRAY(Integer), "since": ARRAY(DateTime(timezone=True)),
                 "until": ARRAY(DateTime(timezone=True)), "id": ARRAY(BigInteger)}
        given = func.unnest(*(bindparam(f"{way}_{name}", type_=types.get(name, ARRAY(String))) for name in names)
                            ).table_valued(*names).render_derived(name=f"{way}_given", with_types=False)
        alike = (and_(Order.category == given.c.category, Order.district == given.c.district) if way == "place"
                 else Order.caller_phone_digest == given.c.digest)
        query = select(*COLUMNS).where(alike, Order.received_at >= given.c.since, Order.received_at <= given.c.until,
                                       *(Order.status != status for status in sorted(WITHDRAWN)),
                                       Order.id != given.c.id)
        found = ((filtered(query, narrowed) if narrowed is not None else query)
                 .order_by(*NEWEST_FIRST).limit(CANDIDATES).lateral(f"{way}_found"))
        reads.append(select(given.c.arm, found).select_from(given).join(found, true()))
    return union_all(*reads)


def _filter_of(reach: tuple[Any, ...] | None) -> OrderFilter | None:
    """The reach back from :func:`_reach_key`'s value."""
    return OrderFilter(**dict(zip((f.name for f in fields(OrderFilter)), reach, strict=True))) if reach else None


def _reach_key(reach: OrderFilter | None) -> tuple[Any, ...] | None:
    """The reach as a value that can name the statement built for it (the filter is a mutable dataclass)."""
    return None if reach is None else tuple(getattr(reach, f.name) for f in fields(reach))


@lru_cache(maxsize=64)
def _page_statement(ways: tuple[str, ...], reach: tuple[Any, ...] | None):
    """The statement :func:`_page_candidates` runs: an arm for each of ``ways`` (an order's way of
    being alike), within ``reach``, the arm's values bound by its position. Built once for each
    shape of page and reach a process sees (a queue's pages mostly have one): made anew for every
    page, building and spelling out 40 arms' expressions cost more CPU than the queue's whole read."""
    narrowed = _filter_of(reach)
    arms = []
    for k, way in enumerate(ways):
        alike = (and_(Order.category == bindparam(f"a{k}_category"), Order.district == bindparam(f"a{k}_district"))
                 if way == "place" else Order.caller_phone_digest == bindparam(f"a{k}_digest"))
        # Each withdrawn status its own "!=": a list (NOT IN) is spelt out at every run, all
        # through the whole statement again for each arm.
        query = select(literal(k).label("arm"), *COLUMNS).where(
            alike, Order.received_at >= bindparam(f"a{k}_since"), Order.received_at <= bindparam(f"a{k}_at"),
            *(Order.status != status for status in sorted(WITHDRAWN)), Order.id != bindparam(f"a{k}_id"))
        arms.append((filtered(query, narrowed) if narrowed is not None else query)
                    .order_by(*NEWEST_FIRST).limit(CANDIDATES).subquery())
    selects = [select(arm) for arm in arms]
    return union_all(*selects) if len(selects) > 1 else selects[0]


def rank(order: Order, alike: list[list[Any]], *, threshold: float = 0.4, limit: int = 5) -> list[dict[str, Any]]:
    """The duplicates of ``order`` among the candidates of each way of being alike (each newest
    first), best first."""
    candidates: dict[str, Any] = {}
    for rows in alike:
        for other in rows:
            candidates.setdefault(other.number, other)
    found, mine = [], bigrams(order.text)
    # What scoring reads of the order, read once (not through the ORM for every candidate).
    facts = _Facts(order.text, order.caller_phone_digest, order.street, order.category)
    for other in sorted(candidates.values(), key=lambda row: row.received_at, reverse=True):
        value, reasons = score(facts, other, mine, threshold)
        if value >= threshold:
            found.append({"number": other.number, "score": round(value, 3), "reasons": reasons,
                          "channel": other.channel, "status": other.status})
    return sorted(found, key=lambda d: -d["score"])[:limit]


@dataclass(frozen=True)
class _Recorded:
    """An order of the batch, as a candidate for the batch's later orders (COLUMNS but its id)."""

    number: str
    text: str
    caller_phone_digest: str | None
    street: str | None
    category: str | None
    channel: str
    status: str
    received_at: datetime
    place: tuple[str | None, str | None]


class BatchDuplicates:
    """:func:`find_duplicates` (intake's own look: the whole city) for the new orders of a batch,
    not yet stored, in their order: the stored candidates of all of them read with one query per
    way of being alike (and moment received), and each order sees the batch's earlier ones as it
    would had they been recorded one by one before it."""

    def __init__(self, session: Session, orders: Sequence[Order]) -> None:
        self._orders = list(orders)
        self._recorded: list[_Recorded] = []  # the batch's orders found for so far, in order
        self._stored: dict[tuple[str, datetime, Any], list[Any]] = {}  # (way, moment, alike) -> newest first
        for moment in {order.received_at for order in orders}:
            at_moment = [order for order in orders if order.received_at == moment]
            self._read(session, "place", moment, {(o.category, o.district) for o in at_moment
                                                   if o.category and o.district})
            self._read(session, "caller", moment, {o.caller_phone_digest for o in at_moment
                                                    if o.caller_phone_digest})

    def _read(self, session: Session, way: str, moment: datetime, values: set[Any]) -> None:
        # For each value, the query find_duplicates makes (its newest CANDIDATES, read along the
        # same index), all in one statement.
        ordered = sorted(values)
        for value in ordered:
            self._stored[(way, moment, value)] = []
        reads = _lateral_reads if session.get_bind().dialect.name == "postgresql" else _union_reads
        for row in reads(session, way, moment - timedelta(hours=window_hours()), moment, ordered):
            value = (row.category, row.district) if way == "place" else row.caller_phone_digest
            self._stored[(way, moment, value)].append(row)
        for value in ordered:  # each value's rows newest first, as its own query reads them
            self._stored[(way, moment, value)].sort(key=lambda row: (row.received_at, row.id), reverse=True)

    def find(self, position: int) -> list[dict[str, Any]]:
        """The duplicates of the batch's order at ``position``, the orders before it all recorded."""
        order = self._orders[position]
        since = order.received_at - timedelta(hours=window_hours())
        alike = []
        if order.category and order.district:
            place = (order.category, order.district)
            alike.append(self._newest(self._stored[("place", order.received_at, place)],
                                      [r for r in self._recorded if r.place == place], since, order.received_at))
        if order.caller_phone_digest:
            alike.append(self._newest(self._stored[("caller", order.received_at, order.caller_phone_digest)],
                                      [r for r in self._recorded if r.caller_phone_digest == order.caller_phone_digest],
                                      since, order.received_at))
        return rank(order, alike)

    @staticmethod
    def _newest(stored: list[Any], recorded: list[_Recorded], since: datetime, until: datetime) -> list[Any]:
        # The batch's orders are stored after every order already stored (their ids are higher),
        # and later in the batch after earlier: as NEWEST_FIRST would read them.
        ours = [(r.received_at, 1, n, r) for n, r in enumerate(recorded) if since <= r.received_at <= until]
        theirs = [(row.received_at, 0, row.id, row) for row in stored]
        merged = sorted(ours + theirs, key=lambda c: c[:3], reverse=True)
        return [c[3] for c in merged[:CANDIDATES]]

    def recorded(self, position: int, status: str) -> None:
        """The order at ``position`` is decided (``status``: received, or dispatched at once): a
        candidate for the orders after it."""
        order = self._orders[position]
        self._recorded.append(_Recorded(order.number, order.text, order.caller_phone_digest, order.street,
                                        order.category, order.channel, status, order.received_at,
                                        (order.category, order.district)))


def _candidates(alike, since: datetime, until: datetime):
    return select(*COLUMNS, Order.district).where(
        alike, Order.received_at >= since, Order.received_at <= until,
        Order.status.not_in(sorted(WITHDRAWN))).order_by(*NEWEST_FIRST).limit(CANDIDATES)


def _union_reads(session: Session, way: str, since: datetime, until: datetime, values: list[Any]) -> list[Any]:
    """SQLite: the values' queries joined by UNION ALL."""
    rows = []
    for first in range(0, len(values), _ARMS):
        arms = [_candidates(and_(Order.category == value[0], Order.district == value[1]) if way == "place"
                            else Order.caller_phone_digest == value, since, until).subquery()
                for value in values[first:first + _ARMS]]
        rows += session.execute(union_all(*(select(arm) for arm in arms)) if len(arms) > 1 else select(arms[0]))
    return rows


def _lateral_reads(session: Session, way: str, since: datetime, until: datetime, values: list[Any]) -> list[Any]:
    """PostgreSQL: the query once, LATERAL for each value of arrays given (a statement whose text
    does not grow with the batch, so the driver parses it once)."""
    if way == "place":
        given = func.unnest(bindparam("categories", [v[0] for v in values], type_=ARRAY(String)),
                            bindparam("districts", [v[1] for v in values], type_=ARRAY(String)),
                            ).table_valued("category", "district").render_derived(name="given", with_types=False)
        alike = and_(Order.category == given.c.category, Order.district == given.c.district)
    else:
        given = func.unnest(bindparam("callers", values, type_=ARRAY(String))).table_valued("caller").render_derived(
            name="given")
        alike = Order.caller_phone_digest == given.c.caller
    arm = _candidates(alike, since, until).lateral("found")
    return list(session.execute(select(arm).select_from(given).join(arm, true())))
