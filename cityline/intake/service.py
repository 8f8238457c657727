"""Orders in: one order from any channel, with its number, protected caller data and first event.

Every way in (the API, the command line, bulk import, and the data warnings and
inspections to come) builds its orders here: ``fill_labels`` (triage fills the
labels a person left empty; labels given by hand are checked against the taxonomy
and kept) and ``order_columns`` (the stored values of a new order). ``create_order``
records one live order; ``intake/importer.py`` writes many at once with the same
two functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityline.errors import Conflict, DomainError, Invalid
from cityline.geo.service import GridPlace, grid_for
from cityline.idempotency.service import claim, complete, different_request
from cityline.orders.models import Order
from cityline.orders.rules import Status
from cityline.orders.schemas import OrderCreate
from cityline.orders.service import (
    add_new_order_timers,
    allocate_numbers,
    format_number,
    get_order,
    move_order,
    plan_new_order,
    record_received,
)
from cityline.privacy import Vault
from cityline.taxonomy import label_errors
from cityline.timeutil import as_aware, local_day, to_local

# classify(text, language) -> {"kind", "category", "urgency", "special_groups", "language", ...}
Classify = Callable[[str, str | None], dict[str, Any]]
LABELS = ("kind", "category", "urgency")


@dataclass(frozen=True)
class OrderPlace:
    """Where a new order is, as a zone lookup needs it: the local day it is received, the
    district and street intake found, and the words naming the rest (address and text)."""

    day: date
    district: str | None
    street: str | None
    words: str


@dataclass(frozen=True)
class ZoneMark:
    """The sealed (封控) or controlled (管控) zone an order's place lies in."""

    level: str  # sealed | controlled
    zone: str  # which: "epidemic_zone:<id>" (published) or "grid:<code>" (a grid's manual level)
    name: str  # the place the zone covers, e.g. 静安区曹家渡街道月亮小区1号楼


# The zones are epidemic's, which sits above intake: the composition roots (``cityline.api``,
# ``cityline.cli``) plug epidemic's published-zone lookup in here, so intake never imports it.
ZoneLookup = Callable[[Session, OrderPlace], ZoneMark | None]
_zone_lookup: ZoneLookup | None = None


def use_zone_lookup(lookup: ZoneLookup | None) -> None:
    """Mark new orders with the published zone their place lies in (None: only grids' levels)."""
    global _zone_lookup
    _zone_lookup = lookup


def zone_of(session: Session, place: OrderPlace, grid: GridPlace | None) -> ZoneMark | None:
    """The zone of a new order: a level set by hand on its grid overrides the published zones
    (a grid under precaution, or lifted to nothing, is not marked even inside a published
    sealed building); without one, the published zone its place lies in, if any."""
    if grid is not None and grid.zone_level:
        if grid.zone_level in ("sealed", "controlled"):
            return ZoneMark(grid.zone_level, f"grid:{grid.code}", grid.name)
        return None
    return _zone_lookup(session, place) if _zone_lookup and place.district else None


def mark_zone(session: Session, labels: dict[str, Any], place: OrderPlace, grid: GridPlace | None) -> dict[str, Any]:
    """Raise the order's urgency by the zone policy (``sla/policies.toml`` ``[zones]``);
    returns what the ``received`` event records about it (nothing outside a zone)."""
    from cityline.sla.tracking import policies

    mark = zone_of(session, place, grid)
    if mark is None:
        return {}
    rule = policies().zones.get(mark.level)
    before = labels["urgency"]
    if rule is not None:
        labels["urgency"] = rule.urgency_for(labels["category"], before)
    return {"zone": {**asdict(mark), "urgency_before": before, "urgency": labels["urgency"]}}


def find_by_external_id(session: Session, external_id: str) -> Order | None:
    return session.scalars(select(Order).where(Order.external_id == external_id)).one_or_none()


EXTERNAL_ID_SCOPE = "orders.external_id"


def intake_differences(order: Order, data: OrderCreate, vault: Vault) -> list[str]:
    """The facts of a request that an order stored with the same external_id does not share.

    For an order whose request is no longer remembered (imported, or created more than a
    day ago): only what a new order stores as given is compared, not labels or places,
    which triage fills and people correct later."""
    given = {
        "text": (data.text, order.text), "channel": (data.channel, order.channel),
        "caller_name": (data.caller_name, order.caller_name), "address": (data.address, order.address),
        "caller_phone": (vault.phone_digest(data.caller_phone) if data.caller_phone else None,
                         order.caller_phone_digest),
    }
    if data.received_at:
        given["received_at"] = (as_aware(data.received_at), order.received_at)
    if data.lat is not None:
        given.update(lat=(data.lat, order.lat), lon=(data.lon, order.lon))
    return sorted(name for name, (asked, stored) in given.items() if asked != stored)


def fill_labels(text: str, given: dict[str, Any], classify: Classify | None, *, source: str,
                ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Labels for a new order: those given (``kind``, ``category``, ``urgency``,
    ``special_groups``, ``language``), completed by triage where empty.

    Returns the labels with their ``triage_source`` (``source`` when nothing was
    predicted, ``model`` otherwise) and the prediction, if any."""
    labels = {f: given.get(f) for f in LABELS}
    labels.update(special_groups=list(given.get("special_groups") or []), language=given.get("language"),
                  triage_source=source)
    if not classify or all(labels[f] for f in LABELS):
        return labels, None
    prediction = classify(text, given.get("language"))
    labels.update({f: labels[f] or prediction[f] for f in LABELS})
    labels["special_groups"] = labels["special_groups"] or list(prediction["special_groups"])
    labels["language"] = labels["language"] or prediction["language"]
    labels["triage_source"] = "model"
    return labels, prediction


def order_columns(*, number: str, text: str, received_at: datetime, channel: str, labels: dict[str, Any],
                  prediction: dict[str, Any] | None, vault: Vault, external_id: str | None = None,
                  caller_phone: str | None = None, caller_name: str | None = None,
                  address: str | None = None, district: str | None = None, street: str | None = None,
                  lat: float | None = None, lon: float | None = None, grid: str | None = None,
                  ) -> dict[str, Any]:
    """The stored values of a new order, received and not yet moved: the caller's phone
    protected (encrypted, masked, digested), the labels, the place."""
    phone = vault.protect_phone(caller_phone) if caller_phone else None
    return {
        "number": number, "external_id": external_id, "channel": channel, "text": text,
        "received_at": received_at, "caller_name": caller_name, "address": address,
        "lat": lat, "lon": lon, "grid": grid, "district": district, "street": street,
        "caller_phone_enc": phone.encrypted if phone else None,
        "caller_phone_masked": phone.masked if phone else None,
        "caller_phone_digest": phone.digest if phone else None,
        "needs_confirmation": bool(prediction and prediction.get("needs_confirmation")),
        "status": Status.RECEIVED.value, **labels,
    }


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
    sees: Callable[[Order], bool] | None = None,
    guess_place: bool = True,
) -> tuple[Order, bool]:
    """Record one order; returns (order, created).

    The same external_id again returns the first order, also to a concurrent retry (it
    waits for the first to commit); with a different request it raises Conflict naming
    what differs — or, when ``sees`` (the asker's reach) does not include the first
    order, naming nothing of it. With ``route`` the new order also gets its place,
    duplicate and unit suggestions, and is dispatched at once when the catalogue is sure.
    Without ``guess_place`` an order given no district keeps no place rather than one read from
    its address or text (a warning about someone whose home is unknown names where they came from).
    """
    claimed = None
    if data.external_id:
        # The key is reserved before anything else, so concurrent retries queue here
        # instead of all inserting and failing on the unique constraint.
        claimed = claim(session, scope=EXTERNAL_ID_SCOPE, key=data.external_id, endpoint="order",
                        request=data.model_dump(mode="json"), now=now, label="external_id")
        # A retry within the key's day is compared with the request kept; an order stored
        # before that (imported, or older) with what it stores as given.
        existing = (get_order(session, claimed.replay) if claimed.replay
                    else find_by_external_id(session, data.external_id))
        if existing is not None:
            differences = claimed.differs if claimed.replay else intake_differences(existing, data, vault)
            return _recorded_before(session, data, existing, differences, claimed, sees), False
    errors = label_errors(data.kind, data.category, data.urgency, data.special_groups)
    if errors:
        raise Invalid("some labels are not codes of the taxonomy", errors)
    received_at = as_aware(data.received_at) if data.received_at else now
    labels, prediction = fill_labels(data.text, data.model_dump(include={*LABELS, "special_groups", "language"}),
                                     classify, source="manual")
    place = None if data.district or not guess_place else locate(data.address, data.text)
    grid = grid_for(session, lat=data.lat, lon=data.lon, text=data.address or data.text)
    if grid and not (data.district or place):  # the grid knows where it is
        place = {"district": grid.district, "street": grid.street, "matched": [grid.name]}
    day = local_day(received_at)
    zone = mark_zone(session, labels, OrderPlace(
        to_local(received_at).date(), data.district or (place or {}).get("district"), data.street or (place or {}).get("street"),
        " ".join(filter(None, (data.address, data.text)))), grid)
    order = Order(**order_columns(
        number=format_number(day, allocate_numbers(session, day)), text=data.text, received_at=received_at,
        channel=data.channel, labels=labels, prediction=prediction, vault=vault, external_id=data.external_id,
        caller_phone=data.caller_phone, caller_name=data.caller_name, address=data.address,
        district=data.district or (place or {}).get("district"), street=data.street or (place or {}).get("street"),
        lat=data.lat, lon=data.lon, grid=grid.code if grid else None,
    ))
    event_data: dict[str, Any] = {"channel": data.channel}
    if prediction:
        event_data["triage"] = prediction
    if place:
        event_data["place"] = place
    if grid:
        event_data["grid"] = {"code": grid.code, "name": grid.name, "unit": grid.unit_code, "zone": grid.zone_level}
    event_data |= zone
    # Everything the order and its received event store is decided before either is written,
    # so each is one INSERT: the duplicates and units found for it, and (unless it is
    # dispatched at once, which records its own) its deadlines and reminder timers.
    unit = None
    if route:
        found, unit = route_new_order(session, order, prediction)
        event_data |= found
    timers: list[dict[str, Any]] = []
    if unit is None:
        deadlines, timers = plan_new_order(order, ("received", received_at, event_data))
        event_data |= deadlines
    if data.external_id:
        try:
            with session.begin_nested():  # an import (which takes no key) may store it meanwhile
                session.add(order)
                session.flush()
        except IntegrityError:
            existing = find_by_external_id(session, data.external_id)
            if existing is None:
                raise
            return _recorded_before(session, data, existing, intake_differences(existing, data, vault),
                                    claimed, sees), False
    else:
        session.add(order)
        session.flush()
    record_received(session, order, actor=actor, at=received_at, data=event_data)
    add_new_order_timers(session, order, timers)
    if unit:
        move_order(session, order.number, "dispatch", {"unit": unit, "auto": True}, actor="auto-dispatch", now=now)
    if claimed:
        complete(session, claimed, order.number)
    return order, True


@dataclass
class BatchOutcome:
    """What became of one order of a batch: ``created``, ``existing`` (its external_id was
    recorded before, by the same request) or ``refused`` (``error`` says why; nothing of it
    was stored)."""

    index: int
    external_id: str | None
    result: str
    number: str | None = None
    status: str | None = None
    error: DomainError | None = None


def create_many(session: Session, items: Sequence[tuple[int, OrderCreate | DomainError]], *, actor: str,
                now: datetime, vault: Vault, classify: Classify | None = None,
                sees: Callable[[Order], bool] | None = None) -> list[BatchOutcome]:
    """Record several orders (a batch from a system such as the telephony gateway), each as
    :func:`create_order` records one, in a savepoint of its own: an order refused (or given as
    a refusal, e.g. a field that did not validate) is rolled back alone and the others are kept.

    ``items`` are (index in the batch, the order or why it was refused before reaching here)."""
    outcomes = []
    for index, item in items:
        external_id = item.external_id if isinstance(item, OrderCreate) else None
        try:
            if isinstance(item, DomainError):
                raise item
            with session.begin_nested():
                order, created = create_order(session, item, actor=actor, now=now, vault=vault,
                                              classify=classify, sees=sees)
                if not created and sees is not None and not sees(order):  # as the single create says it
                    raise Conflict(f"an order with external_id {item.external_id} was already recorded")
        except DomainError as refused:
            outcomes.append(BatchOutcome(index, external_id, "refused", error=refused))
            continue
        outcomes.append(BatchOutcome(index, external_id, "created" if created else "existing",
                                     number=order.number, status=order.status))
    return outcomes


def _recorded_before(session: Session, data: OrderCreate, existing: Order, differences: list[str],
                     claimed, sees: Callable[[Order], bool] | None) -> Order:
    """The order already recorded with this external_id, when the request is the same one."""
    if differences and sees is not None and not sees(existing):  # not even its number
        raise Conflict(f"an order with external_id {data.external_id} was already recorded")
    if differences:
        raise different_request("external_id", data.external_id, existing.number, differences)
    if claimed:
        complete(session, claimed, existing.number)
    return existing


def route_new_order(session: Session, order: Order, prediction: dict[str, Any] | None,
                    ) -> tuple[dict[str, Any], str | None]:
    """Duplicates and likely units for a new order (not yet stored), and the unit to dispatch it
    to at once when the catalogue is sure (None: a dispatcher decides)."""
    from cityline.config import get_settings
    from cityline.intake.duplicates import find_duplicates
    from cityline.routing.catalogue import suggest_units
    from cityline.routing.rules import auto_dispatch_unit

    settings = get_settings()
    found = suggest_units(session, order.category, order.district, order.street)
    duplicates = find_duplicates(session, order)
    confidence = prediction["category_confidence"] if prediction else 1.0
    unit = None if duplicates else auto_dispatch_unit(found, confidence, order.kind, settings.auto_dispatch_threshold)
    return {"suggested_units": [c.__dict__ for c in found], "duplicates": duplicates}, unit
