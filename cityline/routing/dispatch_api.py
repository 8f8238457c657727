"""HTTP for dispatchers: the queue of orders needing a decision, and the catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import case, select

from cityline.db import transaction
from cityline.intake.duplicates import find_duplicates
from cityline.orders.models import Order
from cityline.orders.service import OrderFilter, describe, filtered
from cityline.routing import catalogue
from cityline.web_deps import Deps, deps

router = APIRouter(prefix="/api/dispatch", tags=["dispatch"])
D = Annotated[Deps, Depends(deps)]
URGENCY_FIRST = case({"urgent": 0, "sub_urgent": 1}, value=Order.urgency, else_=2)


@router.get("/queue")
def queue(d: D, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[dict]:
    """Orders waiting for a dispatcher (new ones the catalogue was unsure of, and returns),
    most urgent first, each with its likely units and possible duplicates."""
    d.require("orders:dispatch")
    waiting = ((Order.status == "received") & ((Order.kind != "consult") | Order.kind.is_(None))) | (
        Order.status == "returned")
    f = OrderFilter(reach_units=d.principal.reach, reach_places=d.principal.places)
    query = filtered(select(Order).where(waiting), f).order_by(URGENCY_FIRST, Order.received_at).limit(limit)
    with transaction(d.sessions) as session:
        return [{"order": describe(session, order).model_dump(mode="json"),
                 "suggested_units": [c.__dict__ for c in catalogue.suggest_units(
                     session, order.category, order.district, order.street)],
                 "duplicates": find_duplicates(session, order)}
                for order in session.scalars(query)]


@router.get("/catalogue")
def list_catalogue(d: D) -> list[dict]:
    d.require("units:read")
    with transaction(d.sessions) as session:
        return [{"category": r.category, "district": r.district, "street": r.street, "unit": r.unit_code,
                 "level": r.level, "priority": r.priority, "note": r.note}
                for r in catalogue.list_catalogue(session)]


@router.get("/suggest")
def suggest(d: D, category: str, district: str | None = None, street: str | None = None) -> list[dict]:
    """Likely units for a category and place (the operator's form asks as the operator types)."""
    d.require("orders:read")
    with transaction(d.sessions) as session:
        return [c.__dict__ for c in catalogue.suggest_units(session, category, district, street)]
