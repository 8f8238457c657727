"""HTTP for orders: create, list, show, move through the loop."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from cityline.db import transaction, utcnow
from cityline.intake.service import create_order
from cityline.orders import service
from cityline.orders.schemas import (
    EventRead,
    MoveRequest,
    OrderCreate,
    OrderDetail,
    OrderPage,
    OrderRead,
)
from cityline.timeutil import as_aware
from cityline.web_deps import Deps, deps

router = APIRouter(prefix="/api/orders", tags=["orders"])


@router.post("", status_code=201, response_model=OrderRead)
def create(body: OrderCreate, response: Response, d: Annotated[Deps, Depends(deps)]) -> OrderRead:
    """Record an order; labels left empty are filled by triage. Same external_id twice → 200 with the first."""
    with transaction(d.sessions) as session:
        order, created = create_order(session, body, actor=d.actor, now=utcnow(), vault=d.vault,
                                      classify=d.classify(session))
        if not created:
            response.status_code = 200
        return service.describe(session, order)


@router.get("", response_model=OrderPage)
def list_(
    d: Annotated[Deps, Depends(deps)],
    status: str | None = None, unit: str | None = None, category: str | None = None,
    urgency: str | None = None, channel: str | None = None,
    received_from: datetime | None = None, received_to: datetime | None = None,
    q: Annotated[str | None, Query(description="text, address or order number")] = None,
    page: Annotated[int, Query(ge=1)] = 1, page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> OrderPage:
    f = service.OrderFilter(
        status=status, unit=unit, category=category, urgency=urgency, channel=channel, text=q,
        received_from=as_aware(received_from) if received_from else None,
        received_to=as_aware(received_to) if received_to else None,
    )
    with transaction(d.sessions) as session:
        rows, total = service.list_orders(session, f, page=page, page_size=page_size)
        items = [service.describe(session, order) for order, _unit, _merged in rows]
    return OrderPage(items=items, total=total, page=page, page_size=page_size)


@router.get("/{number}", response_model=OrderDetail)
def show(number: str, d: Annotated[Deps, Depends(deps)]) -> OrderDetail:
    with transaction(d.sessions) as session:
        order = service.get_order(session, number)
        events = [EventRead.model_validate(e) for e in service.events_of(session, order)]
        return OrderDetail(**service.describe(session, order).model_dump(), events=events)


@router.post("/{number}/moves", response_model=OrderRead)
def move(number: str, body: MoveRequest, d: Annotated[Deps, Depends(deps)]) -> OrderRead:
    """One step of the loop; an illegal step is 409 and changes nothing."""
    with transaction(d.sessions) as session:
        params = body.model_dump(exclude={"action"})
        order = service.move_order(session, number, body.action, params, actor=d.actor, now=utcnow())
        return service.describe(session, order)
