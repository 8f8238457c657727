"""HTTP for orders: list, show, move through the loop, labels, reveal, export (orders come in
through ``intake/api.py``).

Every route checks the caller's permission, and an order outside the caller's
reach answers 404 exactly as a missing one does.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field
from sqlalchemy.orm import Session

from cityline.accounts.deps import Deps, deps
from cityline.accounts.rules import ACTION_PERMISSION, Principal
from cityline.accounts.service import audit
from cityline.cells import safe_row
from cityline.db import read_transaction, transaction, utcnow
from cityline.errors import Conflict
from cityline.limits import Moment, Page, RequestBody
from cityline.orders import queries, service
from cityline.orders.models import Order
from cityline.orders.schemas import (
    EventRead,
    LabelsUpdate,
    MoveRequest,
    OrderDetail,
    OrderPage,
    OrderRead,
)
from cityline.privacy import mask_data, mask_text
from cityline.timeutil import as_aware

router = APIRouter(prefix="/api/orders", tags=["orders"])
D = Annotated[Deps, Depends(deps)]


def reach_filter(d: Deps) -> queries.OrderFilter:
    """Only the caller's reach: narrows any read of orders in SQL (duplicates, merge targets,
    the queue, references in an order's history) as it narrows lists."""
    return queries.OrderFilter(reach_units=d.principal.reach, reach_places=d.principal.places)


def visible(session: Session, d: Deps, number: str) -> Order:
    order = service.get_order(session, number)
    d.ensure_visible(order.unit_id, order.district, order.street, f"order numbered {number}")
    return order


def order_filter(
    d: D, status: str | None = None, unit: str | None = None, category: str | None = None,
    urgency: str | None = None, channel: str | None = None,
    received_from: Moment | None = None, received_to: Moment | None = None,
    q: Annotated[str | None, Query(description="text, address or order number")] = None,
    language: Annotated[str | None, Query(description='a language code, or "foreign" (the foreign-language seats)')] = None,
    needs_confirmation: bool | None = None,
    open: Annotated[bool | None, Query(description="only orders not yet closed, merged or cancelled")] = None,
    overdue: Annotated[bool, Query(description="open orders past their resolution deadline")] = False,
    due_before: Annotated[Moment | None, Query(description="resolution deadline before this time")] = None,
    special_group: Annotated[str | None, Query(description='a special-group code, or "any"')] = None,
    extension_pending: Annotated[bool | None, Query(description="open orders whose unit asked for more time")] = None,
) -> queries.OrderFilter:
    """The query's filters, narrowed to what the caller may see."""
    return queries.OrderFilter(
        status=status, unit=unit, category=category, urgency=urgency, channel=channel, text=q,
        language=language, needs_confirmation=needs_confirmation, special_group=special_group,
        extension_pending=extension_pending,
        open=open or overdue or extension_pending or None,
        due_before=utcnow() if overdue else (as_aware(due_before) if due_before else None),
        received_from=as_aware(received_from) if received_from else None,
        received_to=as_aware(received_to) if received_to else None,
        reach_units=d.principal.reach, reach_places=d.principal.places,
    )


@router.get("", response_model=OrderPage, responses={422: {"description": "a cursor this list did not give"}})
def list_(d: D, f: Annotated[queries.OrderFilter, Depends(order_filter)], request: Request,
          page: Page = 1, page_size: Annotated[int, Query(ge=1, le=500)] = 50,
          sort: Annotated[str, Query(pattern="^(received|deadline)$")] = "received",
          cursor: Annotated[str | None, Query(max_length=200, description=(
              "the next_cursor of the page before: the page after it, read from the index however deep "
              "(page= skips rows, and deep pages grow slow); with cursor, page is ignored"))] = None) -> OrderPage:
    """A page of orders. Follow ``next`` (keyset pagination) to read on; ``page=`` stays for the
    first pages. ``total`` is counted up to 10,000 (``total_capped`` when there are more)."""
    d.require("orders:read")
    after = queries.Cursor.decode(cursor) if cursor else None
    with read_transaction(d.sessions) as session:
        rows, total, following = queries.list_orders(session, f, page=1 if after else page, page_size=page_size,
                                                     sort=sort, after=after)
        items = service.describe_many(session, [order for order, *_ in rows])
    next_cursor = following.encode() if following else None
    link = request.url.remove_query_params("page").include_query_params(cursor=next_cursor) if next_cursor else None
    return OrderPage(items=items, total=total, total_capped=total.more, page=1 if after else page,
                     page_size=page_size, next_cursor=next_cursor,
                     next=f"{link.path}?{link.query}" if link else None)


EXPORT_COLUMNS = ("number", "received_at", "channel", "kind", "category", "urgency", "special_groups",
                  "language", "district", "street", "status", "unit", "dispatched_at", "replied_at",
                  "closed_at", "satisfaction", "text")


@router.get("/export.csv", response_class=Response)
def export(d: D, f: Annotated[queries.OrderFilter, Depends(order_filter)],
           limit: Annotated[int, Query(ge=1, le=1_000_000)] = 100_000) -> Response:
    """Orders as CSV without personal data: no caller, phone or address; numbers in the text masked;
    no cell a spreadsheet would run as a formula."""
    d.require("orders:export")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    with transaction(d.sessions) as session:
        rows, total, _next = queries.list_orders(session, f, page=1, page_size=limit, count_limit=limit)
        for order, unit, *_ in rows:
            values = {c: getattr(order, c, None) for c in EXPORT_COLUMNS}
            values.update(unit=unit, special_groups=";".join(order.special_groups), text=mask_text(order.text))
            writer.writerow(safe_row(v.isoformat() if isinstance(v, datetime) else v for v in values.values()))
        audit(session, d.actor, "export", "orders", rows=len(rows), total=int(total), total_capped=total.more)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8")


def history(session: Session, d: Deps, order: Order) -> list[EventRead]:
    """The order's events as the caller may see them.

    Everyone who sees an order sees its whole history, but the possible duplicates that
    intake found and stored in the ``received`` event were looked for across the city (they
    explain why auto-dispatch held back). Who may see those orders depends on the viewer and
    on where the orders have gone since, so no list fixed at intake fits every later viewer:
    the stored list stays whole and each viewer is shown the part within their reach now.
    """
    events = [EventRead.model_validate(e) for e in queries.events_of(session, order)]
    named = {dup.get("number") for e in events for dup in e.data.get("duplicates") or ()}
    if not named:
        return events
    seen = queries.numbers_within(session, named - {None}, reach_filter(d))
    for event in events:
        if event.data.get("duplicates"):  # a new dict: the stored event itself is not touched
            event.data = {**event.data, "duplicates": [dup for dup in event.data["duplicates"]
                                                       if dup.get("number") in seen]}
    return events


def moves_for(principal: Principal, order: OrderRead) -> list[str]:
    """The moves ``principal`` may make on ``order`` now: those its state allows (the loop's own
    table and checks: no resume unless paused, grant only with an extension asked for, …) that
    the principal's permissions cover (``ACTION_PERMISSION``, which a test holds to name every
    verb of the loop). The console offers exactly these; the API refuses any other."""
    return [a for a in order.allowed_actions if principal.can(move_permission(a))]


def move_permission(action: str) -> str:
    return ACTION_PERMISSION.get(action, "orders:read")  # an unknown verb: the loop answers 422


@router.get("/{number}", response_model=OrderDetail)
def show(number: str, d: D) -> OrderDetail:
    d.require("orders:read")
    with read_transaction(d.sessions) as session:
        order = visible(session, d, number)
        view = service.describe(session, order, utcnow())
        return OrderDetail(**view.model_dump(), events=history(session, d, order),
                           your_moves=moves_for(d.principal, view))


@router.post("/{number}/moves", response_model=OrderRead,
             responses={409: {"description": "the step is not allowed from the order's status"}})
def move(number: str, body: MoveRequest, d: D) -> OrderRead:
    """One step of the loop; an illegal step is 409 and changes nothing."""
    d.require(move_permission(body.action))
    with transaction(d.sessions) as session:
        visible(session, d, number)
        if body.until:  # a time without an offset is local time, as everywhere in cityline
            body.until = as_aware(body.until)
        params = body.model_dump(mode="json", exclude={"action"})
        now = utcnow()
        order = service.move_order(session, number, body.action, params, actor=d.actor, now=now,
                                   reach=reach_filter(d))
        return service.describe(session, order, now)


@router.put("/{number}/labels", response_model=OrderRead)
def set_labels(number: str, body: LabelsUpdate, d: D) -> OrderRead:
    """Confirm or correct the triage labels; the correction becomes training data."""
    d.require("orders:label")
    with transaction(d.sessions) as session:
        visible(session, d, number)
        labels = body.model_dump(exclude={"note"}, exclude_none=True)
        order = service.set_labels(session, number, labels, actor=d.actor, now=utcnow(), note=body.note)
        return service.describe(session, order)


@router.post("/{number}/triage", responses={409: {"description": "triage is not configured on this server"}})
def retriage(number: str, d: D) -> dict:
    """Run triage again; labels given by a person are kept, the new prediction is returned."""
    d.require("orders:label")
    with transaction(d.sessions) as session:
        visible(session, d, number)
        classify = d.classify(session)
        if classify is None:
            raise Conflict("triage is not configured on this server")
        order, prediction = service.retriage(session, number, classify, actor=d.actor, now=utcnow())
        # The prediction's evidence is words of the text: masked like the text.
        return {"order": service.describe(session, order).model_dump(mode="json"), "prediction": mask_data(prediction)}


class RevealRequest(RequestBody):
    reason: str = Field(min_length=2, max_length=500, description="why the full number is needed (audited)")
    texts: bool = Field(False, description="also the text, address, caller name and reply with the numbers in "
                                           "them unmasked, e.g. a second number to call (audited as reveal_text)")


@router.post("/{number}/reveal")
def reveal(number: str, body: RevealRequest, d: D) -> dict:
    """The caller's full phone number, for roles that must call back; with ``texts``, also the
    order's free text unmasked. The only answer of the API with full numbers: every reveal is
    audited with its reason."""
    d.require("pii:reveal")
    with transaction(d.sessions) as session:
        order = visible(session, d, number)
        answer = {"number": number,
                  "caller_phone": d.vault.reveal(order.caller_phone_enc) if order.caller_phone_enc else None}
        if body.texts:
            answer.update(text=order.text, caller_name=order.caller_name, address=order.address, reply=order.reply)
        audit(session, d.actor, "reveal_text" if body.texts else "reveal_phone", f"order:{number}",
              reason=body.reason)
    return answer
