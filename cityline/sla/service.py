"""Timers through a session. Nothing here commits: the caller owns the
transaction, so a timer is scheduled in the same transaction as the order
event that needs it. (The messages a fired timer produces go to
``cityline.outbox``.)"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cityline.sla.calendar import WorkingCalendar
from cityline.sla.models import Timer
from cityline.sla.policy import Policy
from cityline.sla.rules import OVERDUE_ESCALATION, TIMER_KINDS, Event, TimerSpec, timers_for


def _same(timer: Timer, spec: TimerSpec) -> bool:
    return (
        timer.kind == spec.kind
        and timer.due_at == spec.due_at
        and timer.recipient == spec.recipient
        and timer.payload == spec.payload
    )


def _same_missed_deadline(timer: Timer, spec: TimerSpec) -> bool:
    """An escalation for the deadline ``timer`` already escalated: the same deadline
    (respond/resolve) falling due at the same instant. The rest of the payload (unit,
    cycle) may differ — a dispatch after the escalation fired changes the unit, not the
    deadline that was missed — and must not make it escalate again."""
    return (
        spec.kind == OVERDUE_ESCALATION
        and timer.kind == OVERDUE_ESCALATION
        and timer.due_at == spec.due_at
        and (timer.payload or {}).get("deadline") == spec.payload.get("deadline")
    )


def schedule(
    session: Session,
    order_id: int,
    specs: Sequence[TimerSpec],
    *,
    kinds: Iterable[str] | None = None,
    number: str | None = None,
) -> list[Timer]:
    """Make the order's pending timers of ``kinds`` (default: the kinds in ``specs``)
    exactly ``specs``: unchanged timers stay, others are cancelled, new ones added.
    ``number`` is the order's number, which the timers' messages name it by.

    A spec identical to a timer that already fired is not added again, so
    re-evaluating an unchanged order never repeats a reminder; nor is an overdue
    escalation for a deadline (which one, due when) already escalated, whatever else
    changed since: one escalation per missed deadline. Returns the order's pending
    timers of those kinds."""
    kinds = set(kinds) if kinds is not None else {spec.kind for spec in specs}
    if stray := sorted({spec.kind for spec in specs} - kinds):
        raise ValueError(f"timer kinds {stray} are not among the kinds being replaced {sorted(kinds)}")
    if not kinds:
        return []
    rows = session.scalars(
        select(Timer).where(
            Timer.order_id == order_id,
            Timer.kind.in_(kinds),
            Timer.state.in_(("pending", "fired")),
        )
    ).all()
    pending = [t for t in rows if t.state == "pending"]
    fired = [t for t in rows if t.state == "fired"]
    wanted = list(specs)
    kept: list[Timer] = []
    for timer in pending:
        match = next((s for s in wanted if _same(timer, s)), None)
        if match is None:
            timer.state = "cancelled"
        else:
            wanted.remove(match)
            if number:  # a timer scheduled before numbers were carried learns it
                timer.order_number = number
            kept.append(timer)
    for spec in wanted:
        if any(_same(timer, spec) or _same_missed_deadline(timer, spec) for timer in fired):
            continue
        timer = Timer(
            order_id=order_id, order_number=number, kind=spec.kind, due_at=spec.due_at,
            recipient=spec.recipient, payload=dict(spec.payload), state="pending", attempts=0,
        )
        session.add(timer)
        kept.append(timer)
    session.flush()
    return kept


def refresh_order_timers(
    session: Session,
    order_id: int,
    events: Iterable[Event],
    policy: Policy,
    calendar: WorkingCalendar,
    *,
    number: str | None = None,
) -> list[Timer]:
    """Re-evaluate all SLA reminders of an order from its events (call after every
    order event: dispatch, acceptance, pause, re-dispatch, close ...)."""
    return schedule(session, order_id, timers_for(events, policy, calendar), kinds=TIMER_KINDS,
                    number=number)


def cancel(session: Session, order_id: int, kinds: Iterable[str] | None = None) -> int:
    """Cancel the order's pending timers (of ``kinds``, or all). Returns how many."""
    stmt = update(Timer).where(Timer.order_id == order_id, Timer.state == "pending")
    if kinds is not None:
        stmt = stmt.where(Timer.kind.in_(list(kinds)))
    return session.execute(stmt.values(state="cancelled")).rowcount


def pending_timers(session: Session, order_id: int) -> list[Timer]:
    return list(
        session.scalars(
            select(Timer)
            .where(Timer.order_id == order_id, Timer.state == "pending")
            .order_by(Timer.due_at, Timer.id)
        )
    )
