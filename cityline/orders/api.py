"""HTTP for orders: create, list, show, move through the loop."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from cityline.db import transaction, utcnow
from cityline.errors import Conflict
from cityline.intake.service import create_order
from cityline.orders import service
from cityline.orders.schemas import (
    EventRead,
    LabelsUpdate,
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
    language: Annotated[str | None, Query(description='a language code, or "foreign" (the foreign-language seats)')] = None,
    needs_confirmation: bool | None = None,
    page: Annotated[int, Query(ge=1)] = 1, page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> OrderPage:
    f = service.OrderFilter(
        status=status, unit=unit, category=category, urgency=urgency, channel=channel, text=q,
        language=language, needs_confirmation=needs_confirmation,
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


@router.put("/{number}/labels", response_model=OrderRead)
def set_labels(number: str, body: LabelsUpdate, d: Annotated[Deps, Depends(deps)]) -> OrderRead:
    """Confirm or correct the triage labels; the correction becomes training data."""
    with transaction(d.sessions) as session:
        labels = body.model_dump(exclude={"note"}, exclude_none=True)
        order = service.set_labels(session, number, labels, actor=d.actor, now=utcnow(), note=body.note)
        return service.describe(session, order)


@router.post("/{number}/triage")
def retriage(number: str, d: Annotated[Deps, Depends(deps)]) -> dict:
    """Run triage again; labels given by a person are kept, the new prediction is returned."""
    with transaction(d.sessions) as session:
        classify = d.classify(session)
        if classify is None:
            raise Conflict("triage is not configured on this server")
        order, prediction = service.retriage(session, number, classify, actor=d.actor, now=utcnow())
        return {"order": service.describe(session, order).model_dump(mode="json"), "prediction": prediction}
