"""Orders in: one order from any channel, with its number, protected caller data and first event.

Triage (``classify``) fills the labels an operator left empty; labels given by
hand are checked against the taxonomy and kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityline.errors import Invalid
from cityline.geo.service import grid_for
from cityline.orders.models import Order
from cityline.orders.rules import Status
from cityline.orders.schemas import OrderCreate
from cityline.orders.service import allocate_numbers, format_number, record_event, track_deadlines
from cityline.privacy import Vault
from cityline.taxonomy import label_errors
from cityline.timeutil import as_aware, local_day

# classify(text, language) -> {"kind", "category", "urgency", "special_groups", "language", ...}
Classify = Callable[[str, str | None], dict[str, Any]]
LABELS = ("kind", "category", "urgency")


def find_by_external_id(session: Session, external_id: str) -> Order | None:
    return session.scalars(select(Order).where(Order.external_id == external_id)).one_or_none()


def _triage(data: OrderCreate, classify: Classify | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Labels for the new order: the operator's, completed by triage where left empty."""
    labels = {f: getattr(data, f) for f in LABELS}
    labels.update(special_groups=list(data.special_groups), language=data.language, triage_source="manual")
    if not classify or all(labels[f] for f in LABELS):
        return labels, None
    prediction = classify(data.text, data.language)
    labels.update({f: labels[f] or prediction[f] for f in LABELS})
    labels["special_groups"] = labels["special_groups"] or list(prediction["special_groups"])
    labels["language"] = labels["language"] or prediction["language"]
    labels["triage_source"] = "model"
    return labels, prediction


def locate(address: str | None, text: str) -> dict[str, Any] | None:
    """The place an order names (its address, else its text); None when nothing is recognised."""
    from cityline.geo import parse_address

    place = parse_address(address or text)
    if place.district is None and address:
        place = parse_address(text)
    return place.as_dict() if place.district else None


def create_order(
    session: Session,
    data: OrderCreate,
    *,
    actor: str,
    now: datetime,
    vault: Vault,
    classify: Classify | None = None,
    route: bool = True,
) -> tuple[Order, bool]:
    """Record one order; returns (order, created). The same external_id twice returns the first.

    With ``route`` the new order also gets its place, duplicate and unit
    suggestions, and is dispatched at once when the catalogue is sure.
    """
    if data.external_id and (existing := find_by_external_id(session, data.external_id)):
        return existing, False
    errors = label_errors(data.kind, data.category, data.urgency, data.special_groups)
    if errors:
        raise Invalid("some labels are not codes of the taxonomy", errors)
    received_at = as_aware(data.received_at) if data.received_at else now
    labels, prediction = _triage(data, classify)
    place = None if data.district else locate(data.address, data.text)
    grid = grid_for(session, lat=data.lat, lon=data.lon, text=data.address or data.text)
    if grid and not (data.district or place):  # the grid knows where it is
        place = {"district": grid.district, "street": grid.street, "matched": [grid.name]}
    order = Order(
        number=format_number(local_day(received_at), allocate_numbers(session, local_day(received_at))),
        external_id=data.external_id, channel=data.channel, text=data.text, received_at=received_at,
        caller_name=data.caller_name, address=data.address, lat=data.lat, lon=data.lon,
        grid=grid.code if grid else None,
        district=data.district or (place or {}).get("district"),
        street=data.street or (place or {}).get("street"),
        needs_confirmation=bool(prediction and prediction.get("needs_confirmation")),
        status=Status.RECEIVED.value, **labels,
    )
    if data.caller_phone:
        phone = vault.protect_phone(data.caller_phone)
        order.caller_phone_enc, order.caller_phone_masked, order.caller_phone_digest = (
            phone.encrypted, phone.masked, phone.digest,
        )
    session.add(order)
    session.flush()
    event_data: dict[str, Any] = {"channel": data.channel}
    if prediction:
        event_data["triage"] = prediction
    if place:
        event_data["place"] = place
    if grid:
        event_data["grid"] = {"code": grid.code, "name": grid.name, "unit": grid.unit_code, "zone": grid.zone_level}
    event = record_event(session, order, "received", actor=actor, at=received_at, from_status=None,
                         to_status=order.status, data=event_data)
    if route:
        event.data = {**event_data, **route_new_order(session, order, prediction, now)}
        if order.status == Status.RECEIVED:  # not auto-dispatched (a dispatch records its own)
            event.data = {**event.data, **track_deadlines(session, order)}
    return order, True


def route_new_order(session: Session, order: Order, prediction: dict[str, Any] | None,
                    now: datetime) -> dict[str, Any]:
    """Duplicates and likely units for a new order; dispatches it when the catalogue is sure."""
    from cityline.config import get_settings
    from cityline.intake.duplicates import find_duplicates
    from cityline.orders.service import move_order
    from cityline.routing.catalogue import suggest_units
    from cityline.routing.rules import auto_dispatch_unit

    settings = get_settings()
    found = suggest_units(session, order.category, order.district, order.street)
    duplicates = find_duplicates(session, order)
    confidence = prediction["category_confidence"] if prediction else 1.0
    unit = None if duplicates else auto_dispatch_unit(found, confidence, order.kind, settings.auto_dispatch_threshold)
    if unit:
        move_order(session, order.number, "dispatch", {"unit": unit, "auto": True}, actor="auto-dispatch", now=now)
    return {"suggested_units": [c.__dict__ for c in found], "duplicates": duplicates}
