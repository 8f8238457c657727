"""Reading and moving orders through a session. Never commits: the use case does."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached

from cityline.accounts.models import Unit
from cityline.accounts.units import active_unit, unit_codes
from cityline.db import make_engine
from cityline.errors import FieldError, Invalid, NotFound
from cityline.orders import search
from cityline.orders.models import Order, OrderEvent, OrderSequence
from cityline.orders.queries import OrderFilter, events_of, filtered
from cityline.orders.rules import OrderState, Status, apply_move, check_evidence
from cityline.outbox import notify
from cityline.outbox.rules import DISPATCHED, REDISPATCHED, REOPENED
from cityline.sla.rules import Deadlines
from cityline.sla.tracking import (
    add_timers,
    check_milestone,
    has_milestones,
    milestones,
    plan_new,
    track,
)
from cityline.taxonomy import label_errors


def allocate_numbers(session: Session, day: str, count: int = 1) -> int:
    """Reserve ``count`` consecutive sequence numbers for ``day``; returns the first.

    One upsert that increments and returns the counter: the row lock (PostgreSQL)
    or the write lock (SQLite) makes it safe under any number of writers.

    On PostgreSQL the upsert commits at once on its own (a connection in autocommit), so the
    day's row is locked for that one statement, not until the order's transaction commits (which
    made every concurrent create wait for the one before it). The numbers stay unique; an
    order whose transaction then fails leaves its number unused, a gap in the day's numbers
    (as a cancelled call leaves one). SQLite lets one writer in at a time anyway: there the
    upsert stays in the order's transaction and numbers have no gaps.
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql" and isinstance(bind, Engine):
        with _numbering_engine(bind).connect() as conn:
            last = conn.execute(_NEXT_NUMBER["postgresql"], {"day": day, "count": count}).scalar_one()
    else:
        last = session.execute(_NEXT_NUMBER["sqlite"], {"day": day, "count": count}).scalar_one()
    return last - count + 1


def _next_number(dialect) -> Any:
    """The upsert of :func:`allocate_numbers`, built once per dialect (``day`` and ``count`` bound
    when it runs): a plain statement, the ORM's bulk machinery adds nothing here."""
    sequences = OrderSequence.__table__
    stmt = dialect.insert(sequences).values(day=bindparam("day"), last=bindparam("count"))
    return stmt.on_conflict_do_update(index_elements=[sequences.c.day],
                                      set_={"last": sequences.c.last + bindparam("count")}
                                      ).returning(sequences.c.last)


_NEXT_NUMBER = {"postgresql": _next_number(postgresql), "sqlite": _next_number(sqlite)}
_numbering_engines: dict[str, Engine] = {}
_numbering_lock = threading.Lock()


def _numbering_engine(bind: Engine) -> Engine:
    """A small pool of its own for the numbering statements: a create holding a connection
    of the main pool never waits for a second one from it (which, with every connection held
    by a create, would wait for ever). Its connections commit each statement as it runs (one
    round trip, no BEGIN or COMMIT of their own) and do not wait for it to reach the disk
    (``synchronous_commit=off``): the order that uses the number commits after it and flushes
    the log up to and including this commit, so a number is never lost once an order has it;
    a crash before that leaves only a gap."""
    key = bind.url.render_as_string(hide_password=False)
    with _numbering_lock:
        if key not in _numbering_engines:
            _numbering_engines[key] = make_engine(
                key, pool_size=2, max_overflow=6, hide_parameters=True, isolation_level="AUTOCOMMIT",
                connect_args={"options": "-c synchronous_commit=off"})
        return _numbering_engines[key]


def format_number(day: str, seq: int) -> str:
    return f"{day}-{seq:05d}"


def record_event(
    session: Session,
    order: Order,
    action: str,
    *,
    actor: str,
    at: datetime,
    from_status: str | None,
    to_status: str | None,
    data: Mapping[str, Any] | None = None,
    note: str | None = None,
) -> OrderEvent:
    event = OrderEvent(
        order_id=order.id,
        at=at,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        data=dict(data or {}),
        note=note,
    )
    session.add(event)
    return event


def record_received(session: Session, order: Order, *, actor: str, at: datetime, data: Mapping[str, Any]) -> None:
    """``record_event`` for the first event of an order just stored, as one plain insert: on the
    hot path of every create nothing uses it as an object, so the ORM's flush is not paid for."""
    session.connection().execute(_INSERT_EVENT, {"order_id": order.id, "at": at, "actor": actor, "action": "received",
                                    "from_status": None, "to_status": order.status, "data": dict(data),
                                    "note": None})


# Built once (the values are bound when they run) and run on the session's connection, not
# through the ORM's execution: plain rows of tables no cache watches (cityline/generations.py).
_INSERT_EVENT = insert(OrderEvent.__table__)


def store_new_order(session: Session, order: Order) -> None:
    """Store a new order (made, not yet in the session) with one plain INSERT that returns its
    id, and put it in the session as if it had been read: the ORM's flush (its unit of work) is
    not paid for on every create, and a move later in the transaction (auto-dispatch) changes
    this very object. Every column is given (those not set, their defaults), so nothing of it
    is read back."""
    values = order.__dict__
    row = {name: values[name] if name in values else default() for name, default in _order_defaults().items()}
    connection = session.connection()
    order.id = connection.execute(_INSERT_ORDER, row).scalar_one()
    search.index_orders(connection, [(order.id, row["text"], row["address"])])
    for name, value in row.items():
        if name not in values:
            setattr(order, name, value)
    make_transient_to_detached(order)
    session.add(order)


_INSERT_ORDER = insert(Order.__table__).returning(Order.__table__.c.id)


@cache
def _order_defaults() -> dict[str, Any]:
    """Each column of an order but its id, with what makes its value when none is given."""
    def default_of(column) -> Any:
        made = column.default
        if made is None:
            return lambda: None
        if made.is_callable:
            return lambda: made.arg(None)  # the ORM's wrapper of a function of no arguments
        return lambda: made.arg

    return {column.key: default_of(column) for column in Order.__table__.columns if column.key != "id"}


def get_order(session: Session, number: str, *, for_update: bool = False) -> Order:
    stmt = select(Order).where(Order.number == number)
    if for_update:
        stmt = stmt.with_for_update()
    order = session.scalars(stmt).one_or_none()
    if order is None:
        raise NotFound(f"no order numbered {number}")
    return order


def state_of(session: Session, order: Order) -> OrderState:
    unit_code = session.get(Unit, order.unit_id).code if order.unit_id else None
    merged = session.get(Order, order.merged_into_id).number if order.merged_into_id else None
    return _state(order, unit_code, merged)


def _state(order: Order, unit_code: str | None, merged: str | None) -> OrderState:
    return OrderState(
        status=Status(order.status),
        unit=unit_code,
        received_at=order.received_at,
        dispatched_at=order.dispatched_at,
        accepted_at=order.accepted_at,
        replied_at=order.replied_at,
        visited_at=order.visited_at,
        closed_at=order.closed_at,
        reply=order.reply,
        satisfaction=order.satisfaction,
        merged_into=merged,
        returns=order.returns,
        reopens=order.reopens,
        paused=order.paused,
        extension_requested=order.extension_requested,
        extended_to=order.extended_to,
    )


# The moves that put an order in a unit's hands, and what the unit is told (console and webhooks).
UNIT_HEARS = {"dispatch": DISPATCHED, "redispatch": REDISPATCHED, "reopen": REOPENED}


def move_order(
    session: Session, number: str, action: str, params: Mapping[str, Any], *, actor: str, now: datetime,
    reach: OrderFilter | None = None,
) -> Order:
    """Apply one step of the loop and write its event; raises and writes nothing if refused.

    ``reach`` is the actor's (None: the whole city, for the system and the command line): an
    order it names, such as a merge target, must be within it."""
    order = get_order(session, number, for_update=True)
    before = state_of(session, order)
    data = {k: v for k, v in params.items() if v not in (None, "") and k != "note"}
    after = apply_move(before, action, data, now)  # raises Conflict / Invalid
    check_evidence(order.channel, action, data)
    if action == "milestone":  # which milestones there are is the order's SLA policy's
        check_milestone(order.sla_policy, str(data["milestone"]), _clock_events(session, order))
    if action == "grant":  # the event says what was granted, so the deadline can be replayed
        data["until"] = before.extension_requested.isoformat()
    if after.unit != before.unit:
        order.unit_id = active_unit(session, after.unit).id if after.unit else None
    if after.merged_into and after.merged_into != before.merged_into:
        order.merged_into_id = _merge_target(session, order, after.merged_into, reach).id
    _copy_state(order, after)
    event = record_event(
        session, order, action, actor=actor, at=now,
        from_status=before.status, to_status=after.status, data=data, note=params.get("note"),
    )
    session.flush()
    event.data = {**data, **track_deadlines(session, order)}
    kind = UNIT_HEARS.get(action)
    if kind and order.unit_id is not None:  # the unit hears of it once this commits
        notify.order_dispatched(session, unit_id=order.unit_id, unit_code=after.unit, order_id=order.id,
                                number=order.number, category=order.category, urgency=order.urgency,
                                accept_by=order.accept_by, resolve_by=order.resolve_by, kind=kind, now=now)
    return order


def track_deadlines(session: Session, order: Order) -> dict[str, Any]:
    """Deadlines and reminder timers follow every change of the order, in the same transaction.

    Returns ``{"deadlines": …}`` when they changed, for the event that changed them."""
    return _apply_deadlines(order, *track(
        session, order.id, urgency=order.urgency, category=order.category, special_groups=order.special_groups,
        number=order.number, channel=order.channel, events=_clock_events(session, order)))


def _clock_events(session: Session, order: Order) -> list[tuple[str, datetime, dict[str, Any]]]:
    return [(e.action, e.at, e.data) for e in events_of(session, order)]


def order_milestones(session: Session, order: Order, now: datetime | None = None):
    """The order's milestones under its SLA policy (due, done at, on time / late / pending at
    ``now``); the events are read only when the policy has milestones."""
    if not has_milestones(order.sla_policy):
        return []
    return milestones(order.sla_policy, _clock_events(session, order), now)


def plan_new_order(order: Order, received: tuple[str, datetime, dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``track_deadlines`` for an order about to be recorded (the hot path of every create):
    its one event, ``received`` (action, at, data), is at hand and it has no timers yet, so
    nothing is read and its deadlines are set before its insert. Returns what the event records
    about them and the timer rows that :func:`add_new_order_timers` writes once it has its id."""
    planned = plan_new({"number": order.number, "urgency": order.urgency, "category": order.category,
                        "special_groups": order.special_groups, "channel": order.channel, "events": [received]})
    policy, deadlines, timers = planned or (None, None, [])
    return _apply_deadlines(order, policy, deadlines), timers


def add_new_order_timers(session: Session, order: Order, timers: list[dict[str, Any]]) -> None:
    add_timers(session, [{**timer, "order_id": order.id} for timer in timers])


def _apply_deadlines(order: Order, policy: str | None, deadlines: Deadlines | None) -> dict[str, Any]:
    before = (order.accept_by, order.respond_by, order.resolve_by)
    if policy is not None:  # an untriaged order keeps what it had: there is nothing to measure against
        order.sla_policy = policy
        order.accept_by = deadlines.accept_by if deadlines else None
        order.respond_by = deadlines.respond_by if deadlines else None
        order.resolve_by = deadlines.resolve_by if deadlines else None
    after = (order.accept_by, order.respond_by, order.resolve_by)
    if after == before:
        return {}
    names = ("accept_by", "respond_by", "resolve_by")
    return {"deadlines": {n: t.isoformat() if t else None for n, t in zip(names, after, strict=True)}
            | {"policy": order.sla_policy}}


def _merge_target(session: Session, order: Order, number: str, reach: OrderFilter | None) -> Order:
    """The order to merge into. One outside the actor's reach does not exist for them: the same
    422 as a missing number (not 404, which would say the order in the path is missing), and
    none of the checks that would tell its status."""
    query = select(Order).where(Order.number == number)
    target = session.scalars(filtered(query, reach) if reach else query).one_or_none()
    problem = None
    if target is None:
        problem = "no order has this number"
    elif target.id == order.id:
        problem = "an order cannot be merged into itself"
    elif target.status in (Status.MERGED, Status.CANCELLED):
        problem = f"order {number} is {target.status}; merge into the order it was merged into"
    if problem:
        raise Invalid(f"cannot merge into {number}: {problem}", [FieldError("into", problem)])
    return target


def _copy_state(order: Order, state: OrderState) -> None:
    order.status = state.status.value
    order.dispatched_at = state.dispatched_at
    order.accepted_at = state.accepted_at
    order.replied_at = state.replied_at
    order.visited_at = state.visited_at
    order.closed_at = state.closed_at
    order.reply = state.reply
    order.satisfaction = state.satisfaction
    order.returns = state.returns
    order.reopens = state.reopens
    order.paused = state.paused
    order.extension_requested = state.extension_requested
    order.extended_to = state.extended_to


def describe(session: Session, order: Order, now: datetime | None = None):
    """The API view of an order (phone masked), with the actions its status allows and its
    milestones (judged at ``now``, when given)."""
    return _view(order, state_of(session, order), order_milestones(session, order, now))


def describe_many(session: Session, orders: Sequence[Order], now: datetime | None = None) -> list:
    """``describe`` for a page of orders with a few queries for all of them, not some for each:
    their merge targets' numbers and (for hour-chain policies) events; their units' codes are
    kept between requests (``unit_codes``)."""
    codes = unit_codes(session) if any(o.unit_id for o in orders) else {}
    target_ids = {o.merged_into_id for o in orders if o.merged_into_id}
    numbers = dict(session.execute(select(Order.id, Order.number).where(Order.id.in_(target_ids))).all()) if (
        target_ids) else {}
    chained = [o.id for o in orders if has_milestones(o.sla_policy)]
    events: dict[int, list[tuple[str, datetime, dict[str, Any]]]] = {id_: [] for id_ in chained}
    if chained:
        for e in session.scalars(select(OrderEvent).where(OrderEvent.order_id.in_(chained)).order_by(OrderEvent.id)):
            events[e.order_id].append((e.action, e.at, e.data))
    return [_view(o, _state(o, codes.get(o.unit_id), numbers.get(o.merged_into_id)),
                  milestones(o.sla_policy, events[o.id], now) if o.id in events else [])
            for o in orders]


@cache
def _copied_fields() -> tuple[str, ...]:
    """The fields of the API view copied from the order as they are."""
    from cityline.orders.schemas import OrderRead

    return tuple(f for f in OrderRead.model_fields if hasattr(Order, f) and f not in ("caller_phone", "milestones"))


def _view(order: Order, state: OrderState, chain: list):
    from cityline.orders.rules import allowed_actions
    from cityline.orders.schemas import MilestoneRead, OrderRead

    actions = allowed_actions(state)
    if not any(m.done_at is None for m in chain):  # nothing left to record (or no hour chain)
        actions = [a for a in actions if a != "milestone"]
    values = order.__dict__  # loaded columns, without an attribute lookup through the ORM each
    return OrderRead(
        **{f: values[f] if f in values else getattr(order, f) for f in _copied_fields()},
        caller_phone=order.caller_phone_masked,
        unit=state.unit,
        merged_into=state.merged_into,
        milestones=[MilestoneRead(**vars(m)) for m in chain],
        allowed_actions=actions,
    )


LABEL_FIELDS = ("kind", "category", "urgency", "special_groups", "language")


def _labels(order: Order) -> dict[str, Any]:
    return {f: getattr(order, f) for f in LABEL_FIELDS}


def set_labels(
    session: Session, number: str, labels: Mapping[str, Any], *, actor: str, now: datetime, note: str | None = None
) -> Order:
    """An operator confirms or corrects triage; the event is what training learns from."""
    changes = {k: v for k, v in labels.items() if k in LABEL_FIELDS and v is not None}
    errors = label_errors(changes.get("kind"), changes.get("category"), changes.get("urgency"),
                          list(changes.get("special_groups") or []))
    if errors:
        raise Invalid("some labels are not codes of the taxonomy", errors)
    order = get_order(session, number, for_update=True)
    before = _labels(order)
    for name, value in changes.items():
        setattr(order, name, list(value) if name == "special_groups" else value)
    after = _labels(order)
    corrected = after != before
    order.triage_source = "corrected" if corrected else ("manual" if order.triage_source == "model" else order.triage_source)
    order.needs_confirmation = False
    record_event(session, order, "labels_corrected" if corrected else "labels_confirmed", actor=actor, at=now,
                 from_status=order.status, to_status=order.status,
                 data={"before": before, "after": after}, note=note)
    return order


def retriage(session: Session, number: str, classify, *, actor: str, now: datetime) -> tuple[Order, dict[str, Any]]:
    """Run triage again (e.g. after a new model). Labels a person gave are kept; the
    prediction is recorded either way so the operator can compare."""
    order = get_order(session, number, for_update=True)
    prediction = classify(order.text, None)
    applied = order.triage_source == "model"
    if applied:
        for name in LABEL_FIELDS:
            setattr(order, name, prediction[name])
        order.needs_confirmation = bool(prediction.get("needs_confirmation"))
    record_event(session, order, "triaged", actor=actor, at=now, from_status=order.status,
                 to_status=order.status, data={"triage": prediction, "applied": applied})
    return order, prediction
