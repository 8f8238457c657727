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

from cityline.errors import FieldError, Invalid
from cityline.orders.models import Order
from cityline.orders.rules import Status
from cityline.orders.schemas import OrderCreate
from cityline.orders.service import allocate_numbers, format_number, record_event
from cityline.privacy import Vault
from cityline.timeutil import as_aware, local_day
from cityline.triage.taxonomy import load_taxonomy

# classify(text, language) -> {"kind", "category", "urgency", "special_groups", "language", ...}
Classify = Callable[[str, str | None], dict[str, Any]]
LABELS = ("kind", "category", "urgency")


def label_errors(kind: str | None, category: str | None, urgency: str | None, groups: list[str]) -> list[FieldError]:
    """Field errors for labels that are not codes of the taxonomy (empty labels are fine)."""
    taxonomy = load_taxonomy()
    errors = []
    for field, value in (("kind", kind), ("category", category), ("urgency", urgency)):
        if value:
            try:
                taxonomy.check(field, value)
            except ValueError as exc:
                errors.append(FieldError(field, str(exc)))
    for group in groups:
        try:
            taxonomy.check("special_group", group)
        except ValueError as exc:
            errors.append(FieldError("special_groups", str(exc)))
    return errors


def find_by_external_id(session: Session, external_id: str) -> Order | None:
    return session.scalars(select(Order).where(Order.external_id == external_id)).one_or_none()


def create_order(
    session: Session,
    data: OrderCreate,
    *,
    actor: str,
    now: datetime,
    vault: Vault,
    classify: Classify | None = None,
) -> tuple[Order, bool]:
    """Record one order; returns (order, created). The same external_id twice returns the first."""
    if data.external_id and (existing := find_by_external_id(session, data.external_id)):
        return existing, False
    errors = label_errors(data.kind, data.category, data.urgency, data.special_groups)
    if errors:
        raise Invalid("some labels are not codes of the taxonomy", errors)

    received_at = as_aware(data.received_at) if data.received_at else now
    labels = {f: getattr(data, f) for f in LABELS}
    groups, language, source, prediction = list(data.special_groups), data.language, "manual", None
    if classify and not all(labels.values()):
        prediction = classify(data.text, data.language)
        labels = {f: labels[f] or prediction[f] for f in LABELS}
        groups = groups or list(prediction["special_groups"])
        language = language or prediction["language"]
        source = "model"

    order = Order(
        number=format_number(local_day(received_at), allocate_numbers(session, local_day(received_at))),
        external_id=data.external_id,
        channel=data.channel,
        text=data.text,
        received_at=received_at,
        caller_name=data.caller_name,
        address=data.address,
        district=data.district,
        street=data.street,
        language=language,
        special_groups=groups,
        triage_source=source,
        needs_confirmation=bool(prediction and prediction.get("needs_confirmation")),
        status=Status.RECEIVED.value,
        **labels,
    )
    if data.caller_phone:
        phone = vault.protect_phone(data.caller_phone)
        order.caller_phone_enc, order.caller_phone_masked, order.caller_phone_digest = (
            phone.encrypted, phone.masked, phone.digest,
        )
    session.add(order)
    session.flush()
    event_data = {"channel": data.channel}
    if prediction:
        event_data["triage"] = prediction
    record_event(session, order, "received", actor=actor, at=received_at, from_status=None,
                 to_status=order.status, data=event_data)
    return order, True
