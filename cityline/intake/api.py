"""HTTP for orders coming in: recording one (``POST /api/orders``), the operator's form (what
cityline would decide for a call, before it is stored), possible duplicates, and the
dispatcher's queue of orders waiting for a decision."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from cityline.accounts.deps import Deps, deps, deps_confirmed_in
from cityline.db import read_transaction, transaction, utcnow
from cityline.errors import Conflict, FieldError, Invalid
from cityline.idempotency import service as idempotency
from cityline.idempotency.schemas import IdempotencyKeyHeader
from cityline.intake.duplicates import duplicates_of, find_duplicates
from cityline.intake.service import create_many, create_order, locate
from cityline.limits import RequestBody
from cityline.orders import queries
from cityline.orders.api import reach_filter, visible
from cityline.orders.models import Order
from cityline.orders.schemas import OrderCreate, OrderRead
from cityline.orders.service import describe, describe_many, get_order
from cityline.privacy import mask_data
from cityline.routing.catalogue import suggest_units

router = APIRouter(prefix="/api/intake", tags=["intake"])
dispatch_router = APIRouter(prefix="/api/dispatch", tags=["dispatch"])
orders_router = APIRouter(prefix="/api/orders", tags=["orders"])
D = Annotated[Deps, Depends(deps)]


class PreviewRequest(RequestBody):
    text: str = Field(min_length=1, max_length=20000)
    address: str | None = Field(None, max_length=500)
    caller_phone: str | None = Field(None, max_length=40)
    category: str | None = Field(None, max_length=32, description="the operator's choice, when made (else triage's)")


@router.post("/preview")
def preview(body: PreviewRequest, d: Annotated[Deps, Depends(deps)]) -> dict[str, Any]:
    """Triage, place, likely units, possible duplicates and knowledge-base answers for the text
    as typed so far. Nothing is stored."""
    from cityline.knowledge.search import suggest

    d.require("orders:create")
    with read_transaction(d.sessions) as session:
        classify = d.classify(session)
        triage = classify(body.text, None) if classify else None
        place = locate(body.address, body.text)
        category = body.category or (triage or {}).get("category")
        district, street = (place or {}).get("district"), (place or {}).get("street")
        draft = Order(text=body.text, received_at=utcnow(), category=category, district=district, street=street,
                      caller_phone_digest=d.vault.phone_digest(body.caller_phone) if body.caller_phone else None)
        return {
            "triage": mask_data(triage),  # its evidence is words of the text, masked like the text
            "place": mask_data(place),
            "suggested_units": [c.__dict__ for c in suggest_units(session, category, district, street)],
            "duplicates": find_duplicates(session, draft, reach=reach_filter(d)),
            "knowledge": [s.__dict__ for s in suggest(session, body.text)],
        }


@orders_router.post("", status_code=201, response_model=OrderRead,
                    responses={200: {"model": OrderRead, "description": "a retry: the order the first request made"},
                               409: {"description": "the key or external_id was used with another request"}})
def create(body: OrderCreate, d: Annotated[Deps, Depends(deps_confirmed_in)],
           idempotency_key: IdempotencyKeyHeader = None) -> Response:
    """Record an order; labels left empty are filled by triage. A retry with the same
    Idempotency-Key or external_id and the same body → 200 with the first order, when the
    caller may see it; with a different body → 409 naming the fields that differ. An
    external_id taken by an order outside the caller's reach → 409, which names no order."""
    d.require("orders:create")
    now = utcnow()
    with transaction(d.sessions) as session:
        d.confirm(session)  # a token known from an earlier request: still live (see deps_confirmed_in)
        claimed = idempotency.claim(session, scope=f"key:{d.actor}", key=idempotency_key,
                                    endpoint="POST /api/orders", request=body.model_dump(mode="json"),
                                    now=now) if idempotency_key else None
        if claimed and claimed.replay:  # this caller's retry: said as much as its reach allows now
            first = get_order(session, claimed.replay)
            seen = d.principal.sees(first.unit_id, first.district, first.street)
            if claimed.differs:
                raise idempotency.different_request("Idempotency-Key", idempotency_key,
                                                    first.number if seen else None, claimed.differs)
            if not seen:
                raise Conflict(f"the order recorded with Idempotency-Key {idempotency_key} is outside your reach")
            return _order_answer(describe(session, first), 200)
        order, created = create_order(session, body, actor=d.actor, now=now, vault=d.vault,
                                      classify=d.classify(session),
                                      sees=lambda o: d.principal.sees(o.unit_id, o.district, o.street))
        if claimed:
            idempotency.complete(session, claimed, order.number)
        # A lookup by external_id: an order outside the caller's reach is not shown, not even
        # its number. That the id is taken cannot be hidden (a second order cannot have it).
        if not created and not d.principal.sees(order.unit_id, order.district, order.street):
            raise Conflict(f"an order with external_id {body.external_id} was already recorded")
        view = describe(session, order)
    return _order_answer(view, 201 if created else 200)


def _order_answer(view: OrderRead, status: int) -> Response:
    """The order as JSON, already checked (it is an OrderRead): answered as it is, so FastAPI
    neither checks it again nor encodes it in a trip of its own to the thread pool."""
    return Response(view.model_dump_json(), status_code=status, media_type="application/json")


BATCH_LIMIT = 500  # orders in one batch (and the body stays within CITYLINE_MAX_REQUEST_BYTES)
BATCH_CHUNK = 100  # orders per transaction, recorded at once: a batch holds the write lock in short turns, not for all of it


class OrderBatch(RequestBody):
    # Each order is checked on its own (an order that does not fit is refused alone, in the
    # answer), so the schema says "an object" here and names the one it is checked against.
    orders: list[dict[str, Any]] = Field(
        min_length=1, max_length=BATCH_LIMIT,
        description=f"1 to {BATCH_LIMIT} orders, each an object as POST /api/orders takes one (the `OrderCreate` "
                    "schema) with its external_id (required here: it makes sending a batch again safe); one that "
                    "does not fit is refused alone, in the answer")


class BatchError(BaseModel):
    status: int = Field(description="the status POST /api/orders would have answered for this order alone")
    code: str | None = None
    detail: str
    errors: list[dict[str, Any]] = Field(default_factory=list, description="the fields at fault, as in a problem")


class BatchItemRead(BaseModel):
    index: int = Field(description="the order's place in the batch, from 0")
    external_id: str | None
    result: Literal["created", "existing", "refused"]
    number: str | None = None
    status: str | None = Field(None, description="the order's status (received, or dispatched when auto-dispatched)")
    error: BatchError | None = None


class OrderBatchRead(BaseModel):
    created: int
    existing: int
    refused: int
    results: list[BatchItemRead]


def _batch_item(raw: dict[str, Any]) -> OrderCreate | Invalid:
    """One order of a batch as POST /api/orders would take it, or why not (for this order alone)."""
    try:
        item = OrderCreate.model_validate(raw)
    except ValidationError as wrong:
        return Invalid("the order has invalid fields", [
            FieldError(".".join(str(p) for p in e["loc"]) or "order", e["msg"], e.get("type")) for e in wrong.errors()],
            code="invalid_fields")
    if not item.external_id:
        return Invalid("an order in a batch needs its external_id",
                       [FieldError("external_id", "required in a batch", "missing")], code="invalid_fields")
    return item


def _given_id(raw: dict[str, Any]) -> str | None:
    """The external_id an order that did not validate was sent with, so the caller can tell which it was."""
    given = raw.get("external_id")
    return given if isinstance(given, str) and 0 < len(given) <= 128 else None


@orders_router.post("/batch", response_model=OrderBatchRead)
def create_batch(body: OrderBatch, d: D) -> OrderBatchRead:
    """Record up to 500 orders at once (a system such as the telephony gateway), one answer per
    order in their order: ``created``, ``existing`` (its external_id was recorded before with
    the same request: sending a batch again is safe) or ``refused`` with the problem this order
    alone would have had (invalid fields, labels not in the taxonomy, its external_id used with
    another request). A refused order never takes the others down. Each is recorded as
    ``POST /api/orders`` records one (triage, place, duplicates, auto-dispatch, deadlines)."""
    d.require("orders:create")
    now = utcnow()
    items = [(i, _batch_item(raw)) for i, raw in enumerate(body.orders)]
    outcomes = []
    for first in range(0, len(items), BATCH_CHUNK):
        with transaction(d.sessions) as session:
            outcomes += create_many(session, items[first:first + BATCH_CHUNK], actor=d.actor, now=now,
                                    vault=d.vault, classify=d.classify(session),
                                    sees=lambda o: d.principal.sees(o.unit_id, o.district, o.street))
    results = [BatchItemRead(index=o.index, external_id=o.external_id or _given_id(body.orders[o.index]),
                             result=o.result, number=o.number,
                             status=o.status,
                             error=BatchError(status=o.error.status, code=o.error.code, detail=o.error.detail,
                                              errors=[{"field": e.field, "message": e.message, "code": e.code}
                                                      for e in o.error.errors]) if o.error else None)
               for o in outcomes]
    return OrderBatchRead(results=results, **{r: sum(o.result == r for o in outcomes)
                                              for r in ("created", "existing", "refused")})


@orders_router.get("/{number}/duplicates")
def duplicates(number: str, d: D) -> list[dict]:
    """Earlier orders that look like the same request (merge candidates)."""
    d.require("orders:read")
    with read_transaction(d.sessions) as session:
        return find_duplicates(session, visible(session, d, number), reach=reach_filter(d))


@dispatch_router.get("/queue")
def queue(d: D, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[dict]:
    """Orders waiting for a dispatcher (new ones the catalogue was unsure of, and returns),
    most urgent first, each with its likely units and possible duplicates."""
    cards, _total = queue_cards(d, limit)
    return [dict(card, order=card["order"].model_dump(mode="json")) for card in cards]


def queue_cards(d: Deps, limit: int) -> tuple[list[dict], queries.Count]:
    """The queue as its page shows it: each order's view (an ``OrderRead``, not yet JSON), likely
    units, possible duplicates and, for a returned order, why the unit returned it (None for a new
    one); and how many orders wait in all. One read transaction for all of it."""
    d.require("orders:dispatch")
    reach = reach_filter(d)
    with read_transaction(d.sessions) as session:
        waiting, total = queries.waiting_for_dispatch(session, reach, limit)
        views, duplicates = describe_many(session, waiting), duplicates_of(session, waiting, reach=reach)
        reasons = queries.return_reasons(session, [o.number for o in waiting if o.status == "returned"])
        return [{"order": view, "suggested_units": _next_units(session, order, view.unit), "duplicates": found,
                 "return_reason": reasons.get(order.number)}
                for order, view, found in zip(waiting, views, duplicates, strict=True)], total


def _next_units(session: Session, order: Order, unit: str | None, limit: int = 3) -> list[dict]:
    """The units the catalogue suggests for a waiting order; for a returned one (``unit``: the unit
    that returned it), the others: one click sending it back where it was refused is rarely what a
    dispatcher wants, and the redispatch form still offers every unit."""
    returned_by = unit if order.status == "returned" else None
    found = suggest_units(session, order.category, order.district, order.street, limit=limit + 1)
    return [c.__dict__ for c in found if c.unit != returned_by][:limit]


@dispatch_router.get("/suggest")
def suggest(d: D, category: str, district: str | None = None, street: str | None = None) -> list[dict]:
    """Likely units for a category and place (the operator's form asks as the operator types)."""
    d.require("orders:read")
    with read_transaction(d.sessions) as session:
        return [c.__dict__ for c in suggest_units(session, category, district, street)]
