"""The SLA of one order: its policy, its current deadlines and its reminder timers.

Called by the order loop after every change (in the same transaction), so the
deadlines shown on an order and the timers the worker fires always follow its
event log, which stays the truth they can be recomputed from.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from cityline.orders.models import Order
from cityline.sla.policy import PolicySet, load_policies
from cityline.sla.rules import sla_outcome
from cityline.sla.service import cancel, refresh_order_timers


@lru_cache
def policies() -> PolicySet:
    from cityline.config import get_settings

    return load_policies(get_settings().sla_policy_file)


def track(session: Session, order: Order, events: Sequence[tuple[str, datetime, dict[str, Any]]]) -> None:
    if not order.urgency:  # nothing to measure against until the order is triaged
        cancel(session, order.id)
        return
    rules = policies()
    policy = rules.policy_for(order.urgency, order.category, order.special_groups)
    refresh_order_timers(session, order.id, events, policy, rules.calendar)
    deadlines = sla_outcome(events, policy, rules.calendar).deadlines
    order.sla_policy = policy.name
    order.accept_by = deadlines.accept_by if deadlines else None
    order.respond_by = deadlines.respond_by if deadlines else None
    order.resolve_by = deadlines.resolve_by if deadlines else None
