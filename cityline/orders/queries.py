"""Reads of orders, in one place: lists with filters (chainable), the dispatcher's queue, the
supervisor's board (due soon, escalated), an order's history. Never commits."""

from __future__ import annotations

import base64
import json
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
    union,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from cityline.accounts.models import Unit
from cityline.errors import FieldError, Invalid
from cityline.orders import search
from cityline.orders.models import SEARCH_COUNT_TEXT, Order, OrderEvent, SearchCount
from cityline.orders.rules import OPEN, WITHDRAWN
from cityline.sla.tracking import milestones, policies
from cityline.taxonomy import load_taxonomy

URGENCY_FIRST = case({"urgent": 0, "sub_urgent": 1}, value=Order.urgency, else_=2)


@dataclass
class OrderFilter:
    status: str | None = None
    unit: str | None = None
    category: str | None = None
    urgency: str | None = None
    channel: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    text: str | None = None
    language: str | None = None  # a code, or "foreign" for every language but Chinese
    needs_confirmation: bool | None = None
    open: bool | None = None  # True: not closed, merged or cancelled
    due_before: datetime | None = None  # resolution deadline before this time (overdue: now)
    special_group: str | None = None  # a code, or "any"
    extension_pending: bool | None = None  # a unit asked for more time, no decision yet
    # Only orders of these units or places (a user's reach); None = no limit.
    reach_units: frozenset[int] | None = None
    reach_places: frozenset[tuple[str, str | None]] = frozenset()


OPEN_STATUSES = bindparam("open_statuses", sorted(OPEN), expanding=True, literal_execute=True)
# An order with a special group, in the very words of the partial index of the open ones with one
# (models.WITH_SPECIAL_GROUP): a literal, not a bound "[]", so that any plan matches it, a plan
# PostgreSQL keeps for a prepared statement whatever its parameters too.
HAS_SPECIAL_GROUP = cast(Order.special_groups, String) != literal_column("'[]'")
# In a language other than Chinese: the words of the foreign-language orders' partial index
# (models.FOREIGN_LANGUAGE), a literal so that both planners match it. NULL (not known) is not foreign.
FOREIGN = Order.language != literal_column("'zh'")


class few(FunctionElement):  # noqa: N801 - spelt as the SQL function it stands for
    """A condition few rows meet, said again beside the condition itself: SQLite's ``unlikely(...)``
    planner hint; elsewhere nothing (PostgreSQL takes a condition said twice for one twice as
    selective: at 1 M, one row where the board reads 1,300, and it scanned every open order)."""

    inherit_cache = True  # no type: a Boolean would be compared with 1 on SQLite, which hides the hint


@compiles(few)
def _few(element: few, compiler, **kw) -> str:
    return "1 = 1"


@compiles(few, "sqlite")
def _few_sqlite(element: few, compiler, **kw) -> str:
    return f"unlikely({compiler.process(element.clauses, **kw)})"


def _category(code: str):
    """One category, or a whole branch of the taxonomy for a prefix ("EPI."): its codes by name,
    which the planner weighs as the big share they are (a LIKE or a range it takes for a few rows,
    and sorts them all rather than read the newest first)."""
    if not code.endswith("."):
        return Order.category == code
    codes = [c for c in load_taxonomy().codes("category") if c.startswith(code)]
    return Order.category.in_(codes) if codes else Order.category.startswith(code, autoescape=True)


def filtered(query: Select, f: OrderFilter) -> Select:
    """Chainable: narrow any select over Order by the filter's non-empty fields."""
    if f.reach_units is not None:
        places = [and_(Order.district == d, Order.street == s) if s else Order.district == d for d, s in f.reach_places]
        terms = [Order.unit_id.in_(f.reach_units), *places]
        if f.open:  # each way into the reach read from its open-orders index (SQLite weighs each alone)
            terms = [and_(term, Order.status.in_(OPEN_STATUSES)) for term in terms]
        query = query.where(or_(*terms))
    if f.status:
        query = query.where(Order.status == f.status)
    if f.open:
        # Named, not excluded, and as literal values: the very words of the open-orders partial
        # indexes (models.OPEN_ONLY), which both databases then read instead of every order. SQLite
        # is also told the open orders are few: its statistics say each status is a ninth of all,
        # and it would rather scan every order than look up "two thirds" of them by index.
        named = [Order.status.in_(OPEN_STATUSES)] if f.reach_units is None else []  # a reach's ways say it
        query = query.where(*named, few(Order.status.in_(OPEN_STATUSES)))
    if f.due_before:
        query = query.where(Order.resolve_by < f.due_before)
    if f.extension_pending:
        query = query.where(Order.extension_requested.is_not(None))
    if f.special_group:
        query = query.where(HAS_SPECIAL_GROUP)
    if f.special_group and f.special_group != "any":  # one group: said beside, so the index above still serves
        query = query.where(cast(Order.special_groups, String).contains(f'"{f.special_group}"', autoescape=True))
    if f.unit:
        query = query.where(Order.unit_id == select(Unit.id).where(Unit.code == f.unit).scalar_subquery())
    if f.category:
        # A prefix ("EPI.") selects a whole branch of the taxonomy.
        query = query.where(_category(f.category))
    for column, value in ((Order.urgency, f.urgency), (Order.channel, f.channel)):
        if value:
            query = query.where(column == value)
    if f.received_from:
        query = query.where(Order.received_at >= f.received_from)
    if f.received_to:
        query = query.where(Order.received_at < f.received_to)
    if f.language == "foreign":  # the foreign-language orders' own index (models.FOREIGN_LANGUAGE)
        query = query.where(FOREIGN)
    elif f.language:
        query = query.where(Order.language == f.language)
    if f.needs_confirmation is not None:
        query = query.where(Order.needs_confirmation == f.needs_confirmation)
    # autoescape: %, _ and / typed in a search match themselves, not any text. What this LIKE finds
    # is the search's meaning; list_orders narrows it first by the text index (narrowed_search).
    if f.text:
        query = query.where(or_(Order.text.contains(f.text, autoescape=True),
                                Order.address.contains(f.text, autoescape=True), Order.number == f.text))
    return query


# A count stops here: counting every match of a broad filter reads the whole table, and past this
# a person wants a narrower filter, not the exact figure ("10,000+").
COUNT_LIMIT = 10_000


class Count(int):
    """How many, counted up to a limit: ``more`` when there are more than that (shown "10000+")."""

    more: bool

    def __new__(cls, value: int, more: bool = False) -> Count:
        count = super().__new__(cls, value)
        count.more = more
        return count

    def __str__(self) -> str:
        return f"{int(self)}+" if self.more else str(int(self))


def count_of(session: Session, query: Select, limit: int | None = None) -> Count:
    """How many rows ``query`` gives, reading at most ``limit`` (else COUNT_LIMIT) + 1 of them."""
    limit = limit or COUNT_LIMIT
    found = session.scalar(select(func.count()).select_from(query.limit(limit + 1).subquery())) or 0
    return Count(min(found, limit), found > limit)


@dataclass(frozen=True)
class Cursor:
    """Where a page of a list ends: the last order's sort key and id. The next page starts after
    it, read from the index where it stands however deep (an offset would read and skip every
    order before it)."""

    sort: str  # received | deadline
    at: datetime | None  # received_at, or resolve_by (None: an order without a deadline)
    id: int

    def encode(self) -> str:
        at = self.at.isoformat() if self.at else ""
        return base64.urlsafe_b64encode(f"{self.sort}|{at}|{self.id}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            sort, at, id_ = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode().split("|")
            return cls(sort, datetime.fromisoformat(at) if at else None, int(id_))
        except (ValueError, UnicodeDecodeError):
            raise Invalid("the cursor is not one a page of this list gave",
                          [FieldError("cursor", "not a cursor of this list; start again without it")]) from None


def _after(cursor: Cursor):
    """The orders after ``cursor`` in its sort order (received: newest first; deadline: nearest
    first, orders without one last). Spelt as a range on the time and a tie-break on the id, not
    as a row comparison, so that every index ending in the time (``(status, received_at)``, …)
    serves it on both databases."""
    if cursor.sort == "received":
        return and_(Order.received_at <= cursor.at, or_(Order.received_at < cursor.at, Order.id < cursor.id))
    if cursor.at is None:
        return and_(Order.resolve_by.is_(None), Order.id > cursor.id)
    return or_(and_(Order.resolve_by >= cursor.at, or_(Order.resolve_by > cursor.at, Order.id > cursor.id)),
               Order.resolve_by.is_(None))


def _deadline_order(f: OrderFilter) -> tuple:
    """Nearest deadline first, orders without one last. With a deadline bound every order has one:
    sorted by it alone, which the open-orders deadline index gives in order (the "without one"
    term would have every overdue order read and sorted for a page)."""
    if f.due_before:
        return Order.resolve_by, Order.id
    return Order.resolve_by.is_(None), Order.resolve_by, Order.id


# How a search reads the text index (orders/search.py) depends on how many orders it finds there
# (its candidates). Up to SEARCH_FEW: read whole, the page and the count look just them up by id.
# More: the page reads the newest orders' index; where the candidates are dense (SEARCH_DENSE of
# the orders or more, judged from the ids of the first SEARCH_FEW + 1 read, in the index's order
# of ids) as without the index, finding its 50 within the first few thousand; else, on SQLite,
# asking of each id whether it is a candidate (a set made once) before its row is read; on
# PostgreSQL, which reads an order's row to know its id, reading the candidates themselves where
# they are fewer than the newest orders the page would read (``_reads_candidates``). The count
# confirms the candidates up to COUNT_LIMIT, or is the index's own when the index alone decides (a
# search of one bigram: ``search.index_decides``). The LIKE of ``filtered`` confirms every order
# shown or counted.
SEARCH_FEW = 2_000
SEARCH_DENSE = 0.02
# PostgreSQL: reading one candidate (its row in the index table, then its order by id) costs about
# this many orders read newest first (each tested by the LIKE), measured at 1 M stored.
CANDIDATE_COST = 5


@dataclass(frozen=True)
class Narrowed:
    """What a search adds beside its LIKE: to the page's query, to the count's (None: nothing),
    or the count's whole query (``counted``: the index's own), or the count itself (``total``)."""

    page: ColumnElement[bool] | None = None
    count: ColumnElement[bool] | None = None
    counted: Select | None = None
    total: Count | None = None


def _among(dialect: str, ids: list[int]) -> ColumnElement[bool]:
    """The orders of ``ids``, as one parameter (an IN of 2,000 parameters costs milliseconds to
    build and to parse)."""
    if dialect == "postgresql":
        return Order.id == any_(bindparam("search_ids", ids, type_=ARRAY(BigInteger)))
    values = func.json_each(bindparam("search_ids", json.dumps(ids))).table_valued("value")
    return Order.id.in_(select(values.c.value))


def _reads_candidates(session: Session, found: int, first: int, last: int, page_size: int = 50) -> bool:
    """PostgreSQL: whether a page reads fewer rows through the candidates (all of them, each
    ``CANDIDATE_COST``) than through the newest orders (``page_size`` matches among them), the
    candidates' density judged from ``found`` of them spanning the ids ``first`` to ``last``."""
    density = found / (last - first + 1)
    newest = session.scalar(select(func.max(Order.id))) or 0
    return density * newest * CANDIDATE_COST < page_size / density


def narrowed_search(session: Session, f: OrderFilter, count_limit: int | None = None) -> Narrowed:
    """How the text index narrows the search of ``f`` (``filtered``: the orders whose text or
    address holds ``f.text``, or numbered it): to the orders holding every bigram of it, and the
    order numbered so. Nothing for a search without a bigram (one character, punctuation)."""
    text = f.text or ""
    wanted = search.terms(text)
    if not wanted:
        return Narrowed()
    dialect = session.get_bind().dialect.name
    candidates = search.candidates(dialect, search.match_text(dialect, wanted))
    numbered = list(session.scalars(select(Order.id).where(Order.number == text)))
    decides = not numbered and search.index_decides(text, dialect) and replace(f, text=None) == OrderFilter()
    if decides and dialect == "postgresql":
        return _counted_by_index(session, candidates, count_limit or COUNT_LIMIT)
    found = _columns_of(session, candidates.limit(SEARCH_FEW + 1))[0]
    if len(found) <= SEARCH_FEW:
        among = _among(dialect, sorted({*found, *numbered}))
        return Narrowed(among, among)
    held = Order.id.in_(candidates)
    # "+ 0": not a way into orders (which would read every candidate, then sort them), a test of
    # each id the newest-orders index gives, before its row is read.
    tested = (Order.id + literal_column("0")).in_(candidates)
    if numbered:
        held, tested = or_(held, Order.id.in_(numbered)), or_(tested, Order.id.in_(numbered))
    if dialect == "postgresql":
        # PostgreSQL reads an order's row to know its id (its index holds where the row is): a test
        # of each id saves it nothing, and its planner may run the index's query again for each
        # order. So the page reads either the newest orders or the candidates, joined by id (not
        # with a number beside them: that OR cannot be a join).
        sparse = not numbered and _reads_candidates(session, len(found), min(found), max(found))
        return Narrowed(held if sparse else None, held)
    dense = len(found) >= SEARCH_DENSE * (max(found) - min(found) + 1)
    page = None if dense else tested
    if decides:
        return Narrowed(page, counted=candidates)
    return Narrowed(page, held)


def _columns_of(session: Session, read: Select) -> list[list[Any]]:
    """Each column of ``read``'s rows (sorted and limited in ``read``) as one list in their order,
    sent as one array a column (PostgreSQL ``array_agg``, SQLite ``json_group_array``) rather than
    as rows fetched one by one: a search's 2,001 candidates cost the app 2.8 ms of processor that
    way on PostgreSQL (1.3 on SQLite), their array 0.5; a district's board at 10 M, 13,000 open
    orders' lanes, 30 of the page's 86 ms."""
    rows = read.subquery()
    if session.get_bind().dialect.name == "postgresql":
        return [found or [] for found in session.execute(select(*map(func.array_agg, rows.c))).one()]
    return [json.loads(found) for found in session.execute(select(*map(func.json_group_array, rows.c))).one()]


def _counted_by_index(session: Session, candidates: Select, limit: int) -> Narrowed:
    """PostgreSQL, a search the index alone decides: its candidates read once, up to ``limit`` + 1
    of them (SEARCH_FEW + 1 at least), give the count, their ids when few and their density (the ids they span) — where a
    first read of SEARCH_FEW + 1 to judge them and another to count them read the first ones
    twice (a common word: 2,001 and 10,001 rows of the index table, each row on a page of its own
    for a middling one)."""
    read = candidates.limit(max(limit, SEARCH_FEW) + 1).subquery()
    ids = read.c.order_id
    found, first, last, few = session.execute(select(
        func.count(), func.min(ids), func.max(ids),
        case((func.count() <= SEARCH_FEW, func.array_agg(ids))))).one()
    total = Count(min(found, limit), found > limit)
    if found <= SEARCH_FEW:
        return Narrowed(_among("postgresql", sorted(few or [])), total=total)
    held = Order.id.in_(candidates)
    return Narrowed(held if _reads_candidates(session, found, first, last) else None, total=total)


def _remembers(session: Session, f: OrderFilter) -> bool:
    """Whether the count of ``f`` is remembered (SearchCount): a search by text alone, city-wide
    (a status, a unit or a reach changes as orders move; orders' texts do not), on PostgreSQL,
    where counting a common word's 10,001 orders reads a page of the table for each."""
    return (bool(f.text) and len(f.text or "") <= SEARCH_COUNT_TEXT and replace(f, text=None) == OrderFilter()
            and session.get_bind().dialect.name == "postgresql")


def _remember(session: Session, text: str, at_least: int) -> None:
    """Remember that a search of ``text`` finds ``at_least`` orders or more, in a short write
    transaction of its own (the list is read in a read-only one); a larger figure already
    remembered stays."""
    row = postgres_insert(SearchCount).values(text=text, at_least=at_least)
    with session.get_bind().begin() as connection:
        connection.execute(row.on_conflict_do_update(
            index_elements=[SearchCount.text], set_={"at_least": func.greatest(SearchCount.at_least,
                                                                                row.excluded.at_least)}))


def _paged(query: Select, page: int, page_size: int, after: Cursor | None) -> Select:
    """``query`` from the cursor ``after``, else from the page numbered ``page``."""
    return query.where(_after(after)) if after is not None else query.offset((page - 1) * page_size)


# The merge target of a listed order. Made once: an alias builds a proxy of every column of
# orders, which cost a page of the list more than its SQL did (3 ms at every call).
_TARGET = aliased(Order, name="merge_target")


def list_orders(session: Session, f: OrderFilter, *, page: int = 1, page_size: int = 50, sort: str = "received",
                after: Cursor | None = None, count_limit: int | None = None):
    """One page of orders (newest first, or nearest deadline first) as rows (order, unit code, merge
    target's number, unit, merge target), the total (counted up to ``count_limit``) and the cursor of the next page (None on the last).
    ``after`` starts the page after a cursor; else ``page`` counts pages from the first."""
    if after is not None and after.sort != sort:
        raise Invalid("the cursor belongs to another sort order",
                      [FieldError("cursor", f"a cursor of sort={after.sort}, asked with sort={sort}")])
    order = _deadline_order(f) if sort == "deadline" else (Order.received_at.desc(), Order.id.desc())
    limit = count_limit or COUNT_LIMIT
    remembers = _remembers(session, f)
    known = (session.scalar(select(SearchCount.at_least).where(SearchCount.text == f.text)) or 0) if remembers else 0
    if known > max(limit, SEARCH_FEW):
        # Known to be in more orders than the count reads (and than few): "10000+" as counted
        # before, and the page reads the newest orders, as for any search found in that many.
        narrowed = Narrowed(total=Count(limit, more=True))
    else:
        narrowed = narrowed_search(session, f, count_limit) if f.text else Narrowed()
    counted = filtered(select(Order.id), f)
    if narrowed.count is not None:
        counted = counted.where(narrowed.count)
    if narrowed.counted is not None:
        counted = narrowed.counted
    if f.open and sort == "received" and session.get_bind().dialect.name == "sqlite":
        # SQLite counts open orders newest first along the open-orders index the page reads: by
        # status they are scattered over the table ("open, with a special group" at 1 M, 54 → 23
        # ms). PostgreSQL counts them unordered from whichever index holds the filter's columns,
        # without reading a row (10 M: "urgent, open" 145 → 2 ms, "open" 13 → 2); ordered, it
        # walked the open orders by time and read each one. By deadline, the deadline index alone
        # counts them (ordered, PostgreSQL would sort them by id too).
        counted = counted.order_by(*order)
    total = narrowed.total
    dialect = session.get_bind().dialect.name
    keys: list[int] | None = None
    if (narrowed.page is not None and dialect == "postgresql") or (after is None and page > 1):
        # The page's orders chosen by id first, then read whole with their unit and merge target.
        # A page deep in the list: skipped whole, the orders before it were each read and joined
        # (PostgreSQL carried page 200's 10,000 whole rows through its parallel workers: 45 ms). A
        # search's candidates on PostgreSQL: taken for a few rows, they were joined to every
        # candidate before sorting (2,001 lookups of each where 51 were wanted); its first pages
        # count the candidates in the same read (what the count would read again), where the
        # count's condition is the page's.
        counts = (dialect == "postgresql" and total is None and after is None and narrowed.page is not None
                  and narrowed.count is narrowed.page)
        chosen = select(Order.id, *([func.count().over()] if counts else []))
        if narrowed.page is not None:
            chosen = chosen.where(narrowed.page)
        found = session.execute(filtered(_paged(chosen.order_by(*order).limit(page_size + 1), page, page_size, after),
                                         f)).all()
        keys = [row[0] for row in found]
        if counts and found:
            total = Count(min(found[0][1], limit), found[0][1] > limit)
    if total is None:
        total = count_of(session, counted, count_limit)
    if remembers and total.more and known <= limit:
        _remember(session, f.text or "", limit + 1)
    target = _TARGET
    query = (
        # The unit and the merge target also as objects: held by the rows, they answer the lookups
        # of describe() from the session instead of a query per order shown.
        select(Order, Unit.code, target.number, Unit, target)
        .outerjoin(Unit, Unit.id == Order.unit_id)
        .outerjoin(target, target.id == Order.merged_into_id)
        .order_by(*order)
        .limit(page_size + 1)  # one more than shown: is there a next page?
    )
    if keys is not None:
        query = query.where(_among(dialect, keys))
    else:
        if narrowed.page is not None:  # first: the candidate test goes before the LIKE, which reads the row
            query = query.where(narrowed.page)
        query = filtered(_paged(query, page, page_size, after), f)
    rows = list(session.execute(query))
    last = rows[page_size - 1][0] if len(rows) > page_size else None
    following = Cursor(sort, last.resolve_by if sort == "deadline" else last.received_at, last.id) if last else None
    return rows[:page_size], total, following


def events_of(session: Session, order: Order) -> list[OrderEvent]:
    return list(
        session.scalars(
            select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)
        )
    )


# As literal values: the very words of the waiting orders' partial index (models.WAITING_ONLY).
WAITING_STATUSES = bindparam("waiting_statuses", ["received", "returned"], expanding=True, literal_execute=True)


def _waiting(reach: OrderFilter):
    """New orders but consultations, and returned ones, within ``reach``."""
    waiting = and_(Order.status.in_(WAITING_STATUSES),
                   or_(Order.status == "returned", Order.kind != "consult", Order.kind.is_(None)))
    return filtered(select(Order.id).where(waiting), reach)


def waiting_for_dispatch(session: Session, reach: OrderFilter, limit: int) -> tuple[list[Order], Count]:
    """Orders waiting for a dispatcher: new ones (not consultations) the catalogue was unsure of,
    and returns; most urgent first; and how many wait in all. Sorted and counted in one read of the
    waiting orders' index (sorting by urgency reads every waiting order anyway: a count of its own
    read them again), and only the first ``limit`` read whole (sorting whole rows read each
    waiting order from the table)."""
    found = session.execute(_waiting(reach).add_columns(func.count().over())
                            .order_by(URGENCY_FIRST, Order.received_at, Order.id).limit(limit)).all()
    ids = [row[0] for row in found]
    total = found[0][1] if found else 0
    orders = {order.id: order for order in session.scalars(select(Order).where(Order.id.in_(ids)))} if ids else {}
    return [orders[id_] for id_ in ids], Count(min(total, COUNT_LIMIT), total > COUNT_LIMIT)


BOARD_LANES = ("due_soon", "overdue", "escalated", "extensions", "special")
# The board's counts read at most this many open orders of a reach: what its five lanes' own
# counts read together before (each up to COUNT_LIMIT); beyond, every count is "N+".
BOARD_READ = 5 * COUNT_LIMIT


def _ways_into(reach: OrderFilter) -> list[Any]:
    """Each way into ``reach`` on its own (its units; each of its places), or one way without a
    condition for the whole city: each is read from its own open-orders index (as one condition
    with OR, SQLite merged two indexes and read every order's row, PostgreSQL walked every open
    order)."""
    if reach.reach_units is None:
        return [None]
    ways = [Order.unit_id.in_(sorted(reach.reach_units))] if reach.reach_units else []
    return ways + [and_(Order.district == d, Order.street == s) if s else Order.district == d
                   for d, s in sorted(reach.reach_places, key=lambda place: (place[0], place[1] or ""))]


def _lane(reach: OrderFilter, lane: str, now: datetime, soon_until: datetime) -> Select:
    """A page of one lane of the board: its open orders within ``reach``, nearest deadline first."""
    open_ = replace(reach, open=True)
    f, where = {
        # deadline between now and ``soon_until``, not yet overdue, clock running
        "due_soon": (replace(open_, due_before=soon_until), (Order.resolve_by >= now, Order.paused.is_(False))),
        "overdue": (replace(open_, due_before=now), ()),
        "escalated": (open_, (Order.escalated.is_(True),)),  # the overdue escalation (督办) has fired
        "extensions": (replace(open_, extension_pending=True), ()),  # the unit asked for more time
        "special": (replace(open_, special_group="any"), ()),  # a special group to follow up
    }[lane]
    return filtered(select(Order).where(*where), f).order_by(*_deadline_order(f))


def board(session: Session, reach: OrderFilter, now: datetime, soon_until: datetime,
          limit: int = 20, read_at_most: int = BOARD_READ) -> dict[str, tuple[list[Order], Count]]:
    """The supervisor's board: per lane (BOARD_LANES) its first ``limit`` orders, nearest deadline
    first (as the order list sorts by deadline), and how many it has.

    One read of the reach's open orders (their open-only partial indexes), nearest deadline first,
    gives each one's lanes: a lane's page is the first ``limit`` of its orders, its count how many
    there are — where a read per lane and one for the counts read the same orders six times. Past
    ``read_at_most`` open orders every count is "N+", and a lane with fewer than ``limit`` orders
    among those read has its page read on its own (its orders may lie beyond)."""
    # The reach's open orders, each way into it read from its open-orders index alone (the index
    # carries the lanes' columns: models.lanes_index), the ways' orders joined without repeats
    # (UNION), then sorted.
    anywhere = replace(reach, reach_units=None, reach_places=frozenset(), open=True)
    ways = [filtered(select(
        Order.id, Order.resolve_by,
        # deadline between now and ``soon_until``, not yet overdue, clock running
        and_(Order.resolve_by >= now, Order.resolve_by < soon_until, Order.paused.is_(False)).label("due_soon"),
        (Order.resolve_by < now).label("overdue"),
        Order.escalated.label("escalated"),  # the overdue escalation (督办) has fired
        Order.extension_requested.is_not(None).label("extensions"),  # the unit asked for more time
        HAS_SPECIAL_GROUP.label("special"),  # a special group to follow up
    ).where(*([] if way is None else [way])), anywhere) for way in _ways_into(reach)]
    if not ways:  # a reach of nothing
        return {lane: ([], Count(0)) for lane in BOARD_LANES}
    open_orders = (union(*ways) if len(ways) > 1 else ways[0]).subquery("open_orders")
    o = open_orders.c
    # An order's lanes as one number, a bit a lane (BOARD_LANES' order): two plain integers a row
    # to Python, not five booleans each converted (SQLite's 0/1) — 1,300 rows a district at 1 M.
    member = (o.due_soon, o.overdue, o.escalated.is_(True), o.extensions, o.special)
    lanes_of = sum((case((inside, 1 << bit), else_=0) for bit, inside in enumerate(member)), literal_column("0"))
    read = (select(o.id, lanes_of.label("lanes"))
            .order_by(o.resolve_by.is_(None), o.resolve_by, o.id).limit(read_at_most + 1))
    firsts: dict[str, list[int]] = {lane: [] for lane in BOARD_LANES}
    counts = dict.fromkeys(BOARD_LANES, 0)
    rows = list(zip(*_columns_of(session, read), strict=True))
    for id_, lanes in rows[:read_at_most]:
        if not lanes:
            continue
        for bit, lane in enumerate(BOARD_LANES):
            if lanes >> bit & 1:
                counts[lane] += 1
                if counts[lane] <= limit:
                    firsts[lane].append(id_)
    more = len(rows) > read_at_most
    wanted = {id_ for ids in firsts.values() for id_ in ids}
    found = {o.id: o for o in session.scalars(select(Order).where(Order.id.in_(wanted)))} if wanted else {}
    pages = {lane: [found[id_] for id_ in ids] for lane, ids in firsts.items()}
    for lane in BOARD_LANES:
        if more and len(pages[lane]) < limit:
            pages[lane] = list(session.scalars(_lane(reach, lane, now, soon_until).limit(limit)))
    return {lane: (pages[lane], Count(counts[lane], more)) for lane in BOARD_LANES}


def return_reasons(session: Session, numbers: list[str]) -> dict[str, str]:
    """The reason of each order's latest return (退单), for the dispatcher deciding where next."""
    if not numbers:
        return {}
    rows = session.execute(
        select(Order.number, OrderEvent.data).join(OrderEvent, OrderEvent.order_id == Order.id)
        .where(Order.number.in_(numbers), OrderEvent.action == "return").order_by(OrderEvent.id))
    return {number: str((data or {}).get("reason") or "") for number, data in rows}


def busiest_unit(session: Session, kind: str) -> Unit:
    """The unit of ``kind`` that has handled most orders."""
    return session.scalars(
        select(Unit).join(Order, Order.unit_id == Unit.id).where(Unit.kind == kind)
        .group_by(Unit.id).order_by(func.count(Order.id).desc()).limit(1)
    ).one()


def numbers_within(session: Session, numbers: Collection[str], reach: OrderFilter) -> set[str]:
    """Those of ``numbers`` whose orders are within ``reach`` now (another order's history may
    name them; where the order has gone since decides, as for lists)."""
    if not numbers:
        return set()
    return set(session.scalars(filtered(select(Order.number).where(Order.number.in_(sorted(numbers))), reach)))


def milestone_standing(session: Session, now: datetime, reach: OrderFilter | None = None,
                       received_from: datetime | None = None,
                       received_before: datetime | None = None) -> list[dict[str, Any]]:
    """For the commander: per hour-chain policy and milestone, how many orders (received since
    ``received_from`` and before ``received_before``, within ``reach``; merged and cancelled ones left out) recorded it on time,
    late, or have it still to do — ``pending`` before its time, ``late`` after it (judged at
    ``now``). One row per milestone, in the order the policy lists them."""
    chained = [p for p in policies().policies if p.milestones]
    rows = {(p.name, m.code): {"policy": p.name, "milestone": m.code, "zh": m.zh, "en": m.en,
                               "on_time": 0, "late": 0, "pending": 0}
            for p in chained for m in p.milestones}
    query = select(Order).where(Order.sla_policy.in_([p.name for p in chained]),
                                Order.status.not_in(sorted(WITHDRAWN)))
    if received_from is not None:
        query = query.where(Order.received_at >= received_from)
    if received_before is not None:
        query = query.where(Order.received_at < received_before)
    orders = session.scalars(filtered(query, reach) if reach else query).all()
    events: dict[int, list[tuple[str, datetime, dict[str, Any]]]] = {o.id: [] for o in orders}
    for chunk in range(0, len(orders), 500):
        ids = [o.id for o in orders[chunk:chunk + 500]]
        for e in session.scalars(select(OrderEvent).where(OrderEvent.order_id.in_(ids)).order_by(OrderEvent.at,
                                                                                                   OrderEvent.id)):
            events[e.order_id].append((e.action, e.at, e.data))
    for order in orders:
        for m in milestones(order.sla_policy, events[order.id], now):
            rows[(order.sla_policy, m.code)][m.state] += 1
    return list(rows.values())
