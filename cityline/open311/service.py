"""Open311 service requests through a session: one made through intake (an order like any
other, channel ``app``), and the reads a public GET answers. Never commits.

An order made through Open311 carries the external id ``open311:<token>``: the token is what
``tokens/{token}`` answers for, and the prefix is what the public GETs are narrowed to (orders
that came in by telephone or any other way are not published). What the form said beyond an
order's own fields (media_url, the e-mail address encrypted and masked, device and account ids)
is kept in its ``received`` event under ``open311``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityline.accounts.models import Unit
from cityline.errors import Invalid
from cityline.geo.models import Grid
from cityline.intake.service import Classify, create_order
from cityline.open311.rules import RequestView, order_statuses
from cityline.orders.models import Order, OrderEvent
from cityline.orders.schemas import OrderCreate
from cityline.privacy import Vault

PREFIX = "open311:"


@dataclass
class RequestForm:
    """What POST requests carries besides the api_key, checked by the edge for its shape."""

    service_code: str
    description: str | None = None
    lat: float | None = None
    lon: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    media_url: str | None = None
    caller_name: str | None = None
    phone: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    special_groups: list[str] = field(default_factory=list)


@dataclass
class RequestQuery:
    ids: list[str] = field(default_factory=list)  # when given, the other filters do not apply
    service_codes: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)  # open, closed
    since: datetime | None = None
    until: datetime | None = None


def _mask_email(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"


def create_request(session: Session, form: RequestForm, *, service_name: str, actor: str, now: datetime,
                   vault: Vault, classify: Classify | None) -> tuple[Order, str]:
    """Record a service request as an order through intake (triage, routing, deadlines); returns
    the order and the request's token."""
    place: dict[str, Any] = {}
    if form.address_id:
        grid = session.scalars(select(Grid).where(Grid.code == form.address_id)).one_or_none()
        if grid is None:
            raise Invalid(f"address_id {form.address_id} is not the code of a grid")
        place = {"district": grid.district, "street": grid.street,
                 "address": form.address_string or grid.name}
    token = secrets.token_hex(10)
    order, _created = create_order(session, OrderCreate(
        text=form.description or service_name, channel="app", external_id=PREFIX + token,
        caller_name=form.caller_name, caller_phone=form.phone,
        address=place.get("address", form.address_string), district=place.get("district"),
        street=place.get("street"), lat=form.lat, lon=form.lon, category=form.service_code,
        special_groups=form.special_groups,
    ), actor=actor, now=now, vault=vault, classify=classify)
    extra = {key: value for key, value in {
        "token": token, "media_url": form.media_url, "address_id": form.address_id,
        "device_id": form.device_id, "account_id": form.account_id,
        "email": _mask_email(form.email) if form.email else None,
        "email_enc": vault.encrypt(form.email) if form.email else None,
    }.items() if value}
    received = session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id,
                                                        OrderEvent.action == "received")).one()
    received.data = {**received.data, "open311": extra}
    return order, token


def _views(session: Session, rows: list[tuple[Order, str | None]]) -> list[RequestView]:
    """Orders with their unit's name as service requests (their media_url from the received event)."""
    ids = [order.id for order, _unit in rows]
    media = {order_id: (data or {}).get("open311", {}).get("media_url") for order_id, data in session.execute(
        select(OrderEvent.order_id, OrderEvent.data).where(OrderEvent.order_id.in_(ids),
                                                           OrderEvent.action == "received"))} if ids else {}
    return [RequestView(
        number=o.number, status=o.status, category=o.category, text=o.text, unit_name=unit, reply=o.reply,
        address=o.address, lat=o.lat, lon=o.lon, media_url=media.get(o.id), received_at=o.received_at,
        updated_at=o.updated_at or o.received_at, resolve_by=o.resolve_by) for o, unit in rows]


def _requests():
    """Orders made through Open311, with their unit's name."""
    return (select(Order, Unit.name).outerjoin(Unit, Unit.id == Order.unit_id)
            .where(Order.external_id.startswith(PREFIX, autoescape=True)))


def find_requests(session: Session, query: RequestQuery, *, page: int, page_size: int) -> list[RequestView]:
    """One page of service requests, newest first."""
    select_ = _requests()
    if query.ids:
        select_ = select_.where(Order.number.in_(query.ids))
    else:
        if query.service_codes:
            select_ = select_.where(Order.category.in_(query.service_codes))
        if query.statuses:
            select_ = select_.where(Order.status.in_(
                [s for status in query.statuses for s in order_statuses(status)]))
        if query.since is not None:
            select_ = select_.where(Order.received_at >= query.since)
        if query.until is not None:
            select_ = select_.where(Order.received_at <= query.until)
    select_ = select_.order_by(Order.received_at.desc(), Order.id.desc()).limit(page_size).offset(
        (page - 1) * page_size)
    return _views(session, [(order, unit) for order, unit in session.execute(select_)])


def get_request(session: Session, number: str) -> RequestView | None:
    rows = [(order, unit) for order, unit in session.execute(_requests().where(Order.number == number))]
    return _views(session, rows)[0] if rows else None


def number_for_token(session: Session, token: str) -> str | None:
    """The service request a POST's token stands for."""
    return session.scalar(select(Order.number).where(Order.external_id == PREFIX + token))
