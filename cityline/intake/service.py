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

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityline.errors import Conflict, DomainError, Invalid, NotFound
from cityline.geo.service import GridPlace, grid_for
from cityline.idempotency.rules import request_digest
from cityline.idempotency.service import (
    Held,
    claim,
    claim_many,
    complete,
    different_request,
    differs,
    replay_of,
    request_digests,
    settle_many,
)
from cityline.intake.duplicates import BatchDuplicates
from cityline.orders import search
from cityline.orders.models import Order, OrderEvent
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
    store_new_order,
)
from cityline.privacy import Vault
from cityline.sla.tracking import add_timers
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


def check_labels(data: OrderCreate) -> None:
    """Refuse labels given by hand that are not codes of the taxonomy."""
    errors = label_errors(data.kind, data.category, data.urgency, data.special_groups)
    if errors:
        raise Invalid("some labels are not codes of the taxonomy", errors)


def new_order(session: Session, data: OrderCreate, *, vault: Vault, number: str, received_at: datetime,
              labels: dict[str, Any], prediction: dict[str, Any] | None, grid: GridPlace | None,
              guess_place: bool = True) -> tuple[Order, dict[str, Any]]:
    """The new order (not yet stored) with its place and zone, and what its ``received`` event
    records so far (channel, triage, place, grid, zone)."""
    place = None if data.district or not guess_place else locate(data.address, data.text)
    if grid and not (data.district or place):  # the grid knows where it is
        place = {"district": grid.district, "street": grid.street, "matched": [grid.name]}
    zone = mark_zone(session, labels, OrderPlace(
        to_local(received_at).date(), data.district or (place or {}).get("district"), data.street or (place or {}).get("street"),
        " ".join(filter(None, (data.address, data.text)))), grid)
    order = Order(**order_columns(
        number=number, text=data.text, received_at=received_at,
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
    return order, event_data


def plan_routing(session: Session, order: Order, event_data: dict[str, Any], prediction: dict[str, Any] | None,
                 *, route: bool = True, duplicates: list[dict[str, Any]] | None = None,
                 ) -> tuple[str | None, list[dict[str, Any]]]:
    """With ``route``, the duplicates and units found for a new order (``duplicates``: found
    already), added to its event's data; then (unless it is dispatched at once, which records
    its own) its deadlines, set on it and in the event. Returns the unit to dispatch it to at
    once (None: a dispatcher decides) and its reminder timers."""
    unit = None
    if route:
        found, unit = route_new_order(session, order, prediction, duplicates)
        event_data |= found
    timers: list[dict[str, Any]] = []
    if unit is None:
        deadlines, timers = plan_new_order(order, ("received", order.received_at, event_data))
        event_data |= deadlines
    return unit, timers


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
    check_labels(data)
    received_at = as_aware(data.received_at) if data.received_at else now
    labels, prediction = fill_labels(data.text, data.model_dump(include={*LABELS, "special_groups", "language"}),
                                     classify, source="manual")
    grid = grid_for(session, lat=data.lat, lon=data.lon, text=data.address or data.text)
    day = local_day(received_at)
    order, event_data = new_order(session, data, vault=vault, number=format_number(day, allocate_numbers(session, day)),
                                  received_at=received_at, labels=labels, prediction=prediction, grid=grid,
                                  guess_place=guess_place)
    # Everything the order and its received event store is decided before either is written,
    # so each is one INSERT: the duplicates and units found for it, and (unless it is
    # dispatched at once, which records its own) its deadlines and reminder timers.
    unit, timers = plan_routing(session, order, event_data, prediction, route=route)
    if data.external_id:
        try:
            with session.begin_nested():  # an import (which takes no key) may store it meanwhile
                store_new_order(session, order)
        except IntegrityError:
            existing = find_by_external_id(session, data.external_id)
            if existing is None:
                raise
            return _recorded_before(session, data, existing, intake_differences(existing, data, vault),
                                    claimed, sees), False
    else:
        store_new_order(session, order)
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
    :func:`create_order` records one, as if one after the other: an order refused (or given as
    a refusal, e.g. a field that did not validate) is left out alone and the others are kept.

    They are recorded at once: every order is decided first (its external_id, labels, triage,
    place, numbers, duplicates — among the batch's earlier orders too — units and deadlines),
    everything that can refuse one before anything is written, then each table gets one
    statement for all. Should the write fail (an import storing one of the external_ids
    meanwhile), the batch is recorded again one order at a time.

    ``items`` are (index in the batch, the order or why it was refused before reaching here)."""
    try:
        with session.begin_nested():
            return _BatchIntake(session, actor=actor, now=now, vault=vault, classify=classify, sees=sees).run(items)
    except (IntegrityError, DomainError):
        return create_one_by_one(session, items, actor=actor, now=now, vault=vault, classify=classify, sees=sees)


def create_one_by_one(session: Session, items: Sequence[tuple[int, OrderCreate | DomainError]], *, actor: str,
                      now: datetime, vault: Vault, classify: Classify | None = None,
                      sees: Callable[[Order], bool] | None = None) -> list[BatchOutcome]:
    """:func:`create_many` an order at a time, each with :func:`create_order` in a savepoint of
    its own (an order refused is rolled back alone)."""
    outcomes = []
    for index, item in items:
        external_id = item.external_id if isinstance(item, OrderCreate) else None
        try:
            if isinstance(item, DomainError):
                raise item
            with session.begin_nested():
                order, created = create_order(session, item, actor=actor, now=now, vault=vault,
                                              classify=classify, sees=sees)
                if not created:
                    _may_see(item, order, sees)
        except DomainError as refused:
            outcomes.append(BatchOutcome(index, external_id, "refused", error=refused))
            continue
        outcomes.append(BatchOutcome(index, external_id, "created" if created else "existing",
                                     number=order.number, status=order.status))
    return outcomes


def _may_see(data: OrderCreate, existing: Order, sees: Callable[[Order], bool] | None) -> None:
    """An order recorded before with the external_id is named only to a caller who may see it
    (as the single create says it)."""
    if sees is not None and not sees(existing):
        raise Conflict(f"an order with external_id {data.external_id} was already recorded")


@dataclass
class _New:
    """An order of a batch that will be recorded, as it is decided."""

    index: int
    data: OrderCreate
    grid: GridPlace | None
    prediction: dict[str, Any] | None = None
    order: Order | None = None
    event_data: dict[str, Any] | None = None
    unit: str | None = None
    timers: list[dict[str, Any]] | None = None


@dataclass
class _Repeat:
    """An order of a batch whose external_id an earlier order of the same batch records: answered
    once that one is (its request ``differs`` in these fields)."""

    index: int
    data: OrderCreate
    first: _New
    differs: tuple[str, ...]


class _BatchIntake:
    """One chunk of a batch recorded at once (see :func:`create_many`)."""

    def __init__(self, session: Session, *, actor: str, now: datetime, vault: Vault, classify: Classify | None,
                 sees: Callable[[Order], bool] | None) -> None:
        self.session, self.actor, self.now, self.vault = session, actor, now, vault
        self.classify, self.sees = classify, sees
        self.held: dict[str, Held] = {}  # the batch's external_ids (claim_many)

    def run(self, items: Sequence[tuple[int, OrderCreate | DomainError]]) -> list[BatchOutcome]:
        outcomes: dict[int, BatchOutcome] = {}
        new, repeats = self._decide(items, outcomes)
        self._triage(new)
        self._plan(new)
        self._write(new)
        for made in new:
            outcomes[made.index] = BatchOutcome(made.index, made.data.external_id, "created",
                                                number=made.order.number, status=made.order.status)
        for repeat in repeats:  # answered as if after the order that made its external_id's
            first = repeat.first.order
            outcomes[repeat.index] = self._existing(repeat.index, repeat.data, first, repeat.differs)
        return [outcomes[index] for index, _ in items]

    def _existing(self, index: int, data: OrderCreate, existing: Order, differences: Sequence[str]) -> BatchOutcome:
        """An order recorded before with the external_id: the same request is answered with it."""
        try:
            _check_recorded_before(data, existing, list(differences), self.sees)
            _may_see(data, existing, self.sees)
        except DomainError as refused:
            return BatchOutcome(index, data.external_id, "refused", error=refused)
        return BatchOutcome(index, data.external_id, "existing", number=existing.number, status=existing.status)

    def _decide(self, items: Sequence[tuple[int, OrderCreate | DomainError]], outcomes: dict[int, BatchOutcome],
                ) -> tuple[list[_New], list[_Repeat]]:
        """Each order in turn: answered already (refused, or recorded before), a repeat of one
        the batch records, or new. Only the new are left to decide."""
        session = self.session
        asked = {index: request_digests(item.model_dump(mode="json")) for index, item in items
                 if isinstance(item, OrderCreate) and item.external_id}
        requests: dict[str, dict[str, str]] = {}
        for index, item in items:
            if index in asked:
                requests.setdefault(item.external_id, asked[index])
        self.held = held = claim_many(session, scope=EXTERNAL_ID_SCOPE, endpoint="order", requests=requests,
                                      now=self.now)
        # The orders the external_ids may name: those of the keys' first requests (a retry within
        # the key's day), and those stored without a key (imported, or before the key's day).
        made_before = {h.resource for h in held.values() if h.row_id is None and h.resource}
        free = [h.key for h in held.values() if h.row_id is not None]
        by_number = {o.number: o for o in session.scalars(select(Order).where(Order.number.in_(made_before)))
                     } if made_before else {}
        by_key = {o.external_id: o for o in session.scalars(select(Order).where(Order.external_id.in_(free)))
                  } if free else {}
        new: list[_New] = []
        repeats: list[_Repeat] = []
        taken: dict[str, _New] = {}  # external_id -> the new order of this batch that records it
        for index, item in items:
            if isinstance(item, DomainError):
                outcomes[index] = BatchOutcome(index, None, "refused", error=item)
                continue
            key = item.external_id
            try:
                if key:
                    key_row = held[key]
                    digests = asked[index]
                    if key in taken:
                        repeats.append(_Repeat(index, item, taken[key], differs(key_row, digests)))
                        continue
                    if key_row.row_id is None or key_row.resource is not None:  # used before, or earlier here
                        claimed = replay_of(key_row, endpoint="order", digests=digests, label="external_id")
                        existing = by_number.get(claimed.replay)
                        if existing is None:
                            raise NotFound(f"no order numbered {claimed.replay}")
                        outcomes[index] = self._existing(index, item, existing, claimed.differs)
                        continue
                    existing = by_key.get(key)
                    if existing is not None:
                        outcomes[index] = answer = self._existing(
                            index, item, existing, intake_differences(existing, item, self.vault))
                        if answer.result == "existing":  # the key now names it, for this request
                            key_row.resource, by_number[existing.number] = existing.number, existing
                            key_row.request_digest, key_row.field_digests = request_digest(digests), digests
                        continue
                check_labels(item)
                grid = grid_for(session, lat=item.lat, lon=item.lon, text=item.address or item.text)
            except DomainError as refused:
                outcomes[index] = BatchOutcome(index, key, "refused", error=refused)
                continue
            new.append(_New(index, item, grid))
            if key:
                taken[key] = new[-1]
                key_row.request_digest, key_row.field_digests = request_digest(digests), digests
        return new, repeats

    def _triage(self, new: list[_New]) -> None:
        """Predictions for the new orders that leave a label empty: the whole batch at once
        (per language given) when the classifier reads many texts at a time."""
        if not self.classify:
            return
        wanted: dict[str | None, list[_New]] = {}
        for made in new:
            if not all(getattr(made.data, f) for f in LABELS):
                wanted.setdefault(made.data.language, []).append(made)
        many = getattr(self.classify, "many", None)
        for language, texts in wanted.items():
            predictions = (many([m.data.text for m in texts], language) if many
                           else [self.classify(m.data.text, language) for m in texts])
            for made, prediction in zip(texts, predictions, strict=True):
                made.prediction = prediction

    def _plan(self, new: list[_New]) -> None:
        """Labels, numbers (one step per day), place, zone, duplicates, units and deadlines of
        the new orders, in their order."""
        session = self.session
        labelled = []
        for made in new:
            given = made.data.model_dump(include={*LABELS, "special_groups", "language"})
            labels, prediction = fill_labels(made.data.text, given, self.classify and (
                lambda _text, _language, known=made.prediction: known), source="manual")
            received_at = as_aware(made.data.received_at) if made.data.received_at else self.now
            labelled.append((labels, prediction, received_at, local_day(received_at)))
        days: dict[str, int] = {}
        for *_, day in labelled:
            days[day] = days.get(day, 0) + 1
        following = {day: allocate_numbers(session, day, count) for day, count in days.items()}
        for made, (labels, prediction, received_at, day) in zip(new, labelled, strict=True):
            made.prediction = prediction
            made.order, made.event_data = new_order(
                session, made.data, vault=self.vault, number=format_number(day, following[day]),
                received_at=received_at, labels=labels, prediction=prediction, grid=made.grid)
            following[day] += 1
        duplicates = BatchDuplicates(session, [made.order for made in new])
        for position, made in enumerate(new):
            made.unit, made.timers = plan_routing(session, made.order, made.event_data, made.prediction,
                                                  duplicates=duplicates.find(position))
            duplicates.recorded(position, Status.DISPATCHED.value if made.unit else made.order.status)

    def _write(self, new: list[_New]) -> None:
        """Each table's rows in one statement: orders (their ids returned), received events,
        timers, the external_ids' keys; then the orders dispatched at once, each as one is."""
        session = self.session
        if new:
            table = Order.__table__
            rows = [{**dict.fromkeys(_DEADLINE_COLUMNS), **_set_columns(made.order)} for made in new]
            if session.get_bind().dialect.name == "postgresql":
                # The ids drawn first, then plain rows: one short statement the driver prepares once
                # (a multi-row INSERT ... RETURNING is a long text it parses afresh every time).
                ids = sorted(session.scalars(select(func.nextval(func.pg_get_serial_sequence("orders", "id")))
                                             .select_from(func.generate_series(1, len(rows)))))
                session.execute(insert(table), [{**row, "id": order_id} for row, order_id in zip(rows, ids, strict=True)])
            else:
                ids = session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                      rows).scalars().all()
            for made, order_id in zip(new, ids, strict=True):
                made.order.id = order_id
            search.index_orders(session.connection(), [(m.order.id, m.order.text, m.order.address) for m in new])
            session.execute(insert(OrderEvent.__table__), [
                {"order_id": made.order.id, "at": made.order.received_at, "actor": self.actor, "action": "received",
                 "from_status": None, "to_status": made.order.status, "data": dict(made.event_data), "note": None}
                for made in new])
            add_timers(session, [{**timer, "order_id": made.order.id} for made in new for timer in made.timers])
        for made in new:
            if made.data.external_id:
                self.held[made.data.external_id].resource = made.order.number
        settle_many(session, self.held)
        for made in new:
            if made.unit:
                made.order = move_order(session, made.order.number, "dispatch", {"unit": made.unit, "auto": True},
                                        actor="auto-dispatch", now=self.now)


_DEADLINE_COLUMNS = ("sla_policy", "accept_by", "respond_by", "resolve_by")


def _set_columns(order: Order) -> dict[str, Any]:
    """The columns given a value on an order not yet stored (those it was made with, its deadlines)."""
    return {name: value for name, value in vars(order).items() if not name.startswith("_")}


def _recorded_before(session: Session, data: OrderCreate, existing: Order, differences: list[str],
                     claimed, sees: Callable[[Order], bool] | None) -> Order:
    """The order already recorded with this external_id, when the request is the same one."""
    _check_recorded_before(data, existing, differences, sees)
    if claimed:
        complete(session, claimed, existing.number)
    return existing


def _check_recorded_before(data: OrderCreate, existing: Order, differences: list[str],
                           sees: Callable[[Order], bool] | None) -> None:
    """Refuse a request with the external_id of an order recorded before when they differ,
    naming the order only to a caller who may see it."""
    if differences and sees is not None and not sees(existing):  # not even its number
        raise Conflict(f"an order with external_id {data.external_id} was already recorded")
    if differences:
        raise different_request("external_id", data.external_id, existing.number, differences)


def route_new_order(session: Session, order: Order, prediction: dict[str, Any] | None,
                    duplicates: list[dict[str, Any]] | None = None) -> tuple[dict[str, Any], str | None]:
    """Duplicates (unless found already) and likely units for a new order (not yet stored), and
    the unit to dispatch it to at once when the catalogue is sure (None: a dispatcher decides)."""
    from cityline.config import get_settings
    from cityline.intake.duplicates import find_duplicates
    from cityline.routing.catalogue import suggest_units
    from cityline.routing.rules import auto_dispatch_unit

    settings = get_settings()
    found = suggest_units(session, order.category, order.district, order.street)
    if duplicates is None:
        duplicates = find_duplicates(session, order)
    confidence = prediction["category_confidence"] if prediction else 1.0
    unit = None if duplicates else auto_dispatch_unit(found, confidence, order.kind, settings.auto_dispatch_threshold)
    return {"suggested_units": [c.__dict__ for c in found], "duplicates": duplicates}, unit
