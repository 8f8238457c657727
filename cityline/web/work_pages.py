"""The pages of the loop's daily work: intake, dispatch queue, unit inbox, return visits,
SLA board, order search and the order page.

Pages read through the API's own handlers, called in-process with the visitor's
credentials, so a page shows exactly what the API would answer that user
(permissions, reach, masking). Changes go from the page's script to the JSON API
with the session's CSRF token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityline.accounts import outbox_api, units_api
from cityline.db import read_transaction, utcnow
from cityline.errors import NotFound
from cityline.intake import api as intake_api
from cityline.limits import MAX_PAGE
from cityline.orders import api as orders_api
from cityline.orders import queries
from cityline.orders.queries import Count
from cityline.orders.rules import OPEN, Status
from cityline.orders.schemas import CHANNELS, OrderPage, OrderRead
from cityline.orders.service import describe_many
from cityline.outbox.schemas import NotificationList, NotificationRead
from cityline.privacy import mask_text
from cityline.taxonomy import load_taxonomy
from cityline.timeutil import parse_when
from cityline.web.gate import open_page
from cityline.web.render import local_time, render, taxonomy_name
from cityline.web.rules import DUE_SOON, unit_clock
from cityline.web.texts import translate
from cityline.web.visitor import Visitor

router = APIRouter(include_in_schema=False)
STATUSES = tuple(Status)  # the loop's, in its order (the search form's choices)
PAGE_SIZE = 50
NOTICES_SHOWN = 10
# The work lists (queue, inbox, board lanes) show the most pressing cards first, as many as a
# person works through before the list refreshes; "show more" adds as many again, up to the most
# the API gives at once. A hundred cards a list made these pages slow to draw and long to scroll.
FIRST_SHOWN = 20
MOST_SHOWN = 200


def cards_asked(request: Request) -> int:
    """How many cards of each list the visitor asked for (``?shown=``, FIRST_SHOWN at first);
    a number out of bounds is brought within them, as ``page=`` is on /orders."""
    try:
        asked = int(request.query_params.get("shown", FIRST_SHOWN))
    except ValueError:
        asked = FIRST_SHOWN
    return min(max(asked, 1), MOST_SHOWN)


def more_url(request: Request, limit: int) -> str | None:
    """This page with as many cards again (None: it shows the most it may)."""
    return f"{request.url.path}?shown={min(limit + FIRST_SHOWN, MOST_SHOWN)}" if limit < MOST_SHOWN else None


def fragment(request: Request) -> bool:
    """htmx asks for the live part of a page only (periodic refresh, after a change)."""
    return request.headers.get("hx-request") == "true"


def page_of(v: Visitor, request: Request, *, page: int = 1, page_size: int = 100, sort: str = "deadline",
            cursor: str | None = None, **filters: Any) -> OrderPage:
    """A page through the API's own handler: the same filters, reach, masking and bounded count;
    its ``next`` link is this page's own address with the next cursor."""
    return orders_api.list_(v.deps, orders_api.order_filter(v.deps, **filters), request, page=page,
                            page_size=page_size, sort=sort, cursor=cursor)


def orders(v: Visitor, request: Request, **options: Any) -> tuple[list[OrderRead], Count]:
    """The orders of a page and how many there are (up to queries.COUNT_LIMIT, "10000+" beyond)."""
    found = page_of(v, request, **options)
    return found.items, Count(found.total, found.total_capped)


def units(v: Visitor) -> list:
    return units_api.list_(v.deps) if v.can("units:read") else []


def unit_names(v: Visitor) -> dict[str, str]:
    """Unit codes → names, to show people names rather than codes."""
    return {u.code: u.name for u in units(v)}


def permitted_actions(v: Visitor, order: OrderRead, work: str | None = None) -> list[str]:
    """The moves this visitor may make on the order now (the API's own rule); with ``work``, only
    those of that kind of work (a permission: the inbox offers the handler's moves, whatever
    else the visitor may do)."""
    moves = orders_api.moves_for(v.deps.principal, order)
    return [a for a in moves if orders_api.move_permission(a) == work] if work else moves


@router.get("/intake")
def intake(request: Request) -> Response:
    v = open_page(request, "intake")
    if isinstance(v, Response):
        return v
    taxonomy = load_taxonomy()
    return render(request, v, "intake.html", current="intake", taxonomy=taxonomy, channels=CHANNELS,
                  can_dispatch=v.can("orders:dispatch"))


@router.get("/queue")
def queue(request: Request) -> Response:
    v = open_page(request, "queue")
    if isinstance(v, Response):
        return v
    limit = cards_asked(request)
    waiting, total = intake_api.queue_cards(v.deps, limit)
    template = "queue_items.html" if fragment(request) else "queue.html"
    everyone = units(v)
    return render(request, v, template, current="queue", waiting=waiting, total=total,
                  shown=limit, more_url=more_url(request, limit),
                  units=everyone, unit_names={u.code: u.name for u in everyone}, mask=mask_text,
                  actions={w["order"].number: permitted_actions(v, w["order"], "orders:dispatch") for w in waiting})


@router.get("/inbox")
def inbox(request: Request) -> Response:
    """The unit's orders to accept and to resolve, nearest deadline first."""
    v = open_page(request, "inbox")
    if isinstance(v, Response):
        return v
    now, limit = utcnow(), cards_asked(request)
    pages = [orders(v, request, status=status, page_size=limit) for status in ("dispatched", "accepted")]
    todo, total = [o for found, _ in pages for o in found], sum(count for _, count in pages)
    clocks = {o.number: unit_clock(o.status, o.paused, o.accept_by, o.resolve_by, now) for o in todo}
    far = datetime.max.replace(tzinfo=now.tzinfo)
    todo = sorted(todo, key=lambda o: (clocks[o.number].due or far, o.number))[:limit]
    # What was dispatched to the unit (and the units below it), unread first.
    notices = (outbox_api.notifications(v.deps, limit=NOTICES_SHOWN) if v.can("orders:read")
               else NotificationList(unread=0, items=[]))
    template = "inbox_items.html" if fragment(request) else "inbox.html"
    return render(request, v, template, current="inbox", todo=todo, total=total, clocks=clocks, mask=mask_text,
                  shown=limit, more_url=more_url(request, limit),
                  actions={o.number: permitted_actions(v, o, "orders:handle") for o in todo},
                  unit_names=unit_names(v),
                  notices=notices.items, unread=notices.unread, notice_text=notice_text)


def notice_text(lang: str, note: NotificationRead) -> str:
    """The stored Chinese line, or the same facts in the reader's language."""
    key = f"notice.{note.kind.removeprefix('order.')}"
    if lang == "zh" or note.kind not in ("order.dispatched", "order.redispatched"):
        return note.text
    data = note.data

    def when(name: str) -> str:
        return local_time(parse_when(data[name])) if data.get(name) else "-"

    return translate(lang, key, number=note.order_number or "", category=taxonomy_name(lang, data.get("category")),
                     urgency=taxonomy_name(lang, data.get("urgency")), accept_by=when("accept_by"),
                     resolve_by=when("deadline"))


@router.get("/visits")
def visits(request: Request) -> Response:
    """Replied orders to call back (回访), and visited ones to close."""
    v = open_page(request, "visits")
    if isinstance(v, Response):
        return v
    pages = [orders(v, request, status=status) for status in ("replied", "visited")]
    waiting, total = [o for found, _ in pages for o in found], sum(count for _, count in pages)
    template = "visits_items.html" if fragment(request) else "visits.html"
    return render(request, v, template, current="visits", waiting=waiting, total=total, mask=mask_text,
                  actions={o.number: permitted_actions(v, o, "orders:visit") for o in waiting},
                  unit_names=unit_names(v))


@router.get("/board")
def board(request: Request) -> Response:
    """Due soon, overdue, escalated, and the special groups to follow up."""
    v = open_page(request, "board")
    if isinstance(v, Response):
        return v
    now, limit = utcnow(), cards_asked(request)
    v.deps.require("orders:read")
    with read_transaction(v.deps.sessions) as session:
        lanes = queries.board(session, orders_api.reach_filter(v.deps), now, now + DUE_SOON, limit)
        shown = list({o.id: o for found, _ in lanes.values() for o in found}.values())  # an order may be in several
        views = {view.number: view for view in describe_many(session, shown)}
    sections = [(lane, ([views[o.number] for o in found], total)) for lane, (found, total) in lanes.items()]
    asking = lanes["extensions"][0]
    template = "board_items.html" if fragment(request) else "board.html"
    return render(request, v, template, current="board", sections=sections, now=now,
                  shown=limit, more_url=more_url(request, limit),
                  due_soon_hours=int(DUE_SOON.total_seconds() // 3600), mask=mask_text,
                  unit_names=unit_names(v),
                  actions={o.number: permitted_actions(v, views[o.number], "orders:supervise") for o in asking})


@router.get("/orders")
def find_orders(request: Request, q: str | None = None, status: str | None = None,
                category: str | None = None, urgency: str | None = None, foreign: bool = False,
                page: int = 1, cursor: str | None = None) -> Response:
    v = open_page(request, "orders")
    if isinstance(v, Response):
        return v
    chosen = {"q": q or None, "status": status or None, "category": category or None,
              "urgency": urgency or None, "language": "foreign" if foreign else None}
    page = min(max(page, 1), MAX_PAGE)  # called in-process: the API's own bounds do not apply
    # With a cursor ``page`` only numbers the page shown: the rows come from where the cursor stands.
    found = page_of(v, request, page=page, page_size=PAGE_SIZE, sort="received", cursor=cursor, **chosen)
    given = {k: val for k, val in chosen.items() if val}
    shown = {k: val for k, val in given.items() if k != "language"} | ({"foreign": "true"} if foreign else {})
    next_url = ("/orders?" + urlencode({**shown, "cursor": found.next_cursor, "page": page + 1})
                if found.next_cursor and page < MAX_PAGE else None)
    return render(request, v, "orders.html", current="orders", found=found.items,
                  total=Count(found.total, found.total_capped), page=page, next_url=next_url,
                  chosen=chosen, foreign=foreign, statuses=STATUSES,
                  taxonomy=load_taxonomy(), mask=mask_text, unit_names=unit_names(v),
                  export_query=urlencode(given),
                  page_url=lambda n: "/orders?" + urlencode({**shown, "page": n}))


@router.get("/orders/{number}")
def order_page(request: Request, number: str) -> Response:
    """One order: what was asked, where it stands, its whole history, and the next moves."""
    v = open_page(request, "orders")
    if isinstance(v, Response):
        return v
    try:
        order = orders_api.show(number, v.deps)
    except NotFound:
        return render(request, v, "missing.html", status=404, number=number)
    actions = order.your_moves
    open_order = order.status in OPEN
    duplicates = intake_api.duplicates(number, v.deps) if open_order else []
    everyone = units(v)
    return render(request, v, "order.html", current="orders", order=order, actions=actions,
                  duplicates=duplicates, mask=mask_text, can_reveal=v.can("pii:reveal"),
                  units=everyone if {"dispatch", "redispatch"} & set(actions) else [],
                  unit_names={u.code: u.name for u in everyone})
