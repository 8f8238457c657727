"""The SLA of one order: its policy, its current deadlines and its reminder timers.

Called by the order loop after every change (in the same transaction), so the
deadlines shown on an order and the timers the worker fires always follow its
event log, which stays the truth they can be recomputed from. It takes the
order's values, not the order: the loop (``orders/``) calls down into SLA, never
the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from cityline.errors import Conflict, FieldError, Invalid
from cityline.sla.models import Timer
from cityline.sla.policy import PolicySet, load_policies
from cityline.sla.rules import (
    Deadlines,
    MilestoneState,
    milestones_of,
    read_events,
    sla_outcome,
    timers_for,
)
from cityline.sla.service import cancel, refresh_order_timers


@lru_cache
def policies() -> PolicySet:
    from cityline.config import get_settings

    return load_policies(get_settings().sla_policy_file)


def track(session: Session, order_id: int, *, urgency: str | None, category: str | None,
          special_groups: Sequence[str], events: Sequence[tuple[str, datetime, dict[str, Any]]],
          number: str | None = None, channel: str | None = None) -> tuple[str | None, Deadlines | None]:
    """Replace the order's timers to follow its events; returns (policy name, deadlines).
    ``number`` (20200128-00042) is what the reminders call the order."""
    if not urgency:  # nothing to measure against until the order is triaged
        cancel(session, order_id)
        return None, None
    rules = policies()
    policy = rules.policy_for(urgency, category, list(special_groups), channel=channel)
    refresh_order_timers(session, order_id, events, policy, rules.calendar, number=number)
    return policy.name, sla_outcome(events, policy, rules.calendar).deadlines


def plan_new(order: dict[str, Any]) -> tuple[str, Deadlines | None, list[dict[str, Any]]] | None:
    """The policy name, deadlines and timer rows (all but ``order_id``) of an order that has no
    timers yet, from its values (``number``, ``urgency``, ``category``, ``special_groups``,
    ``channel``, ``events``); None for an untriaged order. Reads nothing, so it runs before
    the order is stored and its deadlines go into the same insert."""
    if not order["urgency"]:
        return None
    rules = policies()
    policy = rules.policy_for(order["urgency"], order["category"], list(order["special_groups"] or ()),
                              channel=order.get("channel"))
    timers = [{"order_number": order["number"], "kind": spec.kind, "due_at": spec.due_at,
               "recipient": spec.recipient, "payload": dict(spec.payload), "state": "pending", "attempts": 0}
              for spec in timers_for(order["events"], policy, rules.calendar)]
    return policy.name, sla_outcome(order["events"], policy, rules.calendar).deadlines, timers


def add_timers(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write timer rows planned by :func:`plan_new` (each given its ``order_id``), in one statement."""
    if rows:
        # Plain rows on the session's connection: no ORM objects are made of them, and no cache
        # watches the timers (cityline/generations.py), so the ORM's execution adds nothing
        session.connection().execute(insert(Timer.__table__), rows)


def track_new(session: Session, orders: Sequence[dict[str, Any]]) -> dict[int, tuple[str, Deadlines | None]]:
    """``track`` for many orders that have no timers yet (an import's open orders): the same
    rules, their timers written in one statement instead of several queries per order.

    Each order is a dict of ``id``, ``number``, ``urgency``, ``category``, ``special_groups``,
    ``channel`` and ``events``; an untriaged one is skipped. Returns id → (policy name, deadlines)."""
    tracked: dict[int, tuple[str, Deadlines | None]] = {}
    timers: list[dict[str, Any]] = []
    for order in orders:
        planned = plan_new(order)
        if planned is None:
            continue
        policy, deadlines, rows = planned
        timers += [{**row, "order_id": order["id"]} for row in rows]
        tracked[order["id"]] = (policy, deadlines)
    add_timers(session, timers)
    return tracked


def has_milestones(policy: str | None) -> bool:
    found = policies().named(policy)
    return bool(found and found.milestones)


def milestones(policy: str | None, events: Sequence[tuple[str, datetime, dict[str, Any]]],
               now: datetime | None = None) -> list[MilestoneState]:
    """The milestones of an order under its policy (by the name the order stores): due, done at,
    on time / late / pending at ``now``. Empty for a policy without milestones."""
    found = policies().named(policy)
    return milestones_of(events, found, policies().calendar, now) if found else []


def check_milestone(policy: str | None, code: str, events: Sequence[tuple[str, datetime, dict[str, Any]]]) -> None:
    """Refuse recording milestone ``code`` on an order: Invalid when its policy has no such
    milestone, Conflict when it is recorded already (the first record is the one that counts)."""
    found = policies().named(policy)
    codes = [m.code for m in found.milestones] if found else []
    if code not in codes:
        problem = f"one of: {', '.join(codes)}" if codes else f"the order's policy {policy!r} has no milestones"
        raise Invalid(f"unknown milestone {code!r}", [FieldError("milestone", problem)])
    done = read_events(events).milestones.get(code)
    if done is not None:
        raise Conflict(f"milestone {code!r} was recorded already, at {done.isoformat()}")
