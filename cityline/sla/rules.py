"""Deadline rules: pure functions of values (events, policy, calendar, ``now``).

No session, clock or network here. An order's SLA state is always recomputed
from its event list, given as plain ``(action, at, data)`` tuples.

Re-dispatch policy (改派 / 退单后重派): a re-dispatch starts a new *cycle* whose
clocks (accept, first response, resolution) run from the new dispatch, and the
old unit's reminders are replaced. Why: a unit is answerable only for the time
it held the order — users of ticket engines complain precisely that the SLA is
not re-evaluated when a ticket moves to another group, and a unit scorecard
that charges the new unit for the old one's delay is wrong. The caller's
total wait is not lost: :class:`Outcome` keeps ``time_to_resolve`` measured
from receipt, and ``redispatches`` counts the moves.

The first cycle runs from receipt, so the centre's own dispatch time counts
against the deadline the caller was promised. Pauses (waiting on the caller)
move the response and resolution deadlines by the working time paused; a pause
that starts after a deadline has passed does not rescue it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from cityline.sla.calendar import (
    WorkingCalendar,
    add_working_time,
    end_of_working_day,
    working_time_between,
)
from cityline.sla.policy import Duration, Milestone, Policy

# The deadline clock reads the order log's own verbs (``cityline.orders.rules.ALLOWED_FROM``,
# plus ``received``), every one of them: those that move the clock, and those named here
# because they deliberately do not (asking for more time and its refusal change nothing
# until a grant). A test compares this with the loop's table, so a new verb of the loop
# cannot be silently ignored by the clock. Other events (notes, triage corrections,
# reminders sent) are not moves and are skipped.
CLOCK_VERBS = frozenset({
    "received", "dispatch", "redispatch", "accept", "return", "reply", "close",
    "answer", "pause", "resume", "reopen", "merge", "cancel", "grant", "milestone",
})
VERBS_WITHOUT_CLOCK_EFFECT = frozenset({"visit", "extend", "refuse"})
VERBS = CLOCK_VERBS | VERBS_WITHOUT_CLOCK_EFFECT
ACCEPT_REMINDER = "accept_reminder"
DEADLINE_WARNING = "deadline_warning"
OVERDUE_ESCALATION = "overdue_escalation"
TIMER_KINDS = (ACCEPT_REMINDER, DEADLINE_WARNING, OVERDUE_ESCALATION)
SUPERVISOR = "role:supervisor"  # recipient of escalations (督办)
MILESTONE = "milestone:"  # a milestone's timers name their deadline "milestone:<code>"

Event = tuple[str, datetime, dict[str, Any] | None]
Pause = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class Deadlines:
    """When things are due. ``respond_by`` / ``resolve_by`` / ``warn_at`` are None
    while the order is paused (the clock is stopped, the deadline not yet known)."""

    accept_by: datetime | None
    respond_by: datetime | None
    resolve_by: datetime | None
    warn_at: datetime | None


@dataclass(frozen=True)
class TimerSpec:
    kind: str
    due_at: datetime
    recipient: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    applicable: bool  # False: answered at intake, merged or cancelled — no SLA
    on_time: bool | None  # None: not applicable, or still open and not yet late
    respond_on_time: bool | None
    overdue_by: timedelta | None  # clock time past the resolution deadline
    deadlines: Deadlines | None
    responded_at: datetime | None = None
    resolved_at: datetime | None = None
    time_to_resolve: timedelta | None = None  # from receipt: what the caller waited
    redispatches: int = 0
    paused_for: timedelta = timedelta(0)  # clock time paused in the current cycle


def effective_calendar(policy: Policy, calendar: WorkingCalendar) -> WorkingCalendar:
    return calendar.around_the_clock() if policy.calendar == "24x7" else calendar


def add_duration(start: datetime, duration: Duration, calendar: WorkingCalendar) -> datetime:
    """``start`` plus a policy duration on ``calendar`` (see policies.toml for the meaning)."""
    if duration.unit == "minutes":
        return add_working_time(start, timedelta(minutes=duration.amount), calendar)
    if calendar.always_open:  # 24×7: a working day is 24 hours from the start
        return start + timedelta(days=duration.amount)
    return end_of_working_day(start, calendar, duration.amount)


def shift_for_pauses(
    deadline: datetime, pauses: Sequence[Pause], calendar: WorkingCalendar
) -> datetime | None:
    """Move ``deadline`` by the working time of each pause that began before it.

    None while a pause that began before the deadline is still open."""
    for begins, ends in sorted(pauses, key=lambda p: p[0]):
        if begins >= deadline:
            continue
        if ends is None:
            return None
        paused = working_time_between(begins, ends, calendar)
        if paused > timedelta(0):
            deadline = add_working_time(deadline, paused, calendar)
    return deadline


def deadlines_for(
    policy: Policy,
    clock_start: datetime,
    calendar: WorkingCalendar,
    *,
    dispatched_at: datetime | None = None,
    pauses: Sequence[Pause] = (),
) -> Deadlines:
    """Deadlines of one cycle: from ``clock_start`` (receipt, or the re-dispatch)."""
    cal = effective_calendar(policy, calendar)
    respond = add_duration(clock_start, policy.respond_within, cal)
    resolve = add_duration(clock_start, policy.resolve_within, cal)
    budget = working_time_between(clock_start, resolve, cal)
    warn = add_working_time(clock_start, budget * policy.warn_share, cal)
    accept = add_duration(dispatched_at, policy.accept_within, cal) if dispatched_at else None
    return Deadlines(
        accept_by=accept,
        respond_by=shift_for_pauses(respond, pauses, cal),
        resolve_by=shift_for_pauses(resolve, pauses, cal),
        warn_at=shift_for_pauses(warn, pauses, cal),
    )


@dataclass
class OrderClock:
    """What the events say about the order's current cycle."""

    received_at: datetime | None = None
    clock_start: datetime | None = None
    dispatched_at: datetime | None = None
    unit: str | None = None
    accepted_at: datetime | None = None
    responded_at: datetime | None = None
    resolved_at: datetime | None = None
    returned: bool = False
    ended: str | None = None  # "answered", "merged" or "cancelled": no SLA
    pauses: list[list[datetime | None]] = field(default_factory=list)
    redispatches: int = 0
    cycle: int = 1
    extended_to: datetime | None = None  # a supervisor granted the unit more time (延期)
    milestones: dict[str, datetime] = field(default_factory=dict)  # code → first recorded

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1][1] is None


def read_events(events: Iterable[Event]) -> OrderClock:
    """Replay an order's events (sorted by time, ties in given order) into its clock.

    Events are the order log's verbs (:data:`VERBS`); other events (notes, triage
    corrections, reminders sent) do not move the clock and are skipped, as in the order
    loop's own replay."""
    checked = []
    for action, at, data in events:
        if not isinstance(at, datetime):
            raise ValueError(f"event {action!r}: expected (action, at, data) with a datetime "
                             f"second, got {type(at).__name__}")
        if at.tzinfo is None:
            raise ValueError(f"event {action!r} has a naive time {at.isoformat()}; attach a timezone")
        checked.append((action, at, data or {}))
    clock = OrderClock()
    for action, at, data in sorted(checked, key=lambda e: e[1]):
        if action in CLOCK_VERBS:
            _apply(clock, action, at, data)
    return clock


def _apply(clock: OrderClock, action: str, at: datetime, data: dict[str, Any]) -> None:
    if action == "received":
        clock.received_at = clock.received_at or at
        clock.clock_start = clock.clock_start or at
    elif action in ("dispatch", "redispatch"):
        if clock.dispatched_at is not None or action == "redispatch":
            _new_cycle(clock, at)
            clock.redispatches += 1
        clock.clock_start = clock.clock_start or at
        clock.dispatched_at, clock.unit, clock.returned = at, data.get("unit"), False
    elif action == "accept":
        clock.accepted_at = clock.accepted_at or at
        clock.responded_at = clock.responded_at or at
    elif action == "return":
        clock.returned, clock.accepted_at = True, None
    elif action in ("reply", "close"):
        clock.responded_at = clock.responded_at or at
        clock.resolved_at = clock.resolved_at or at
        _end_pause(clock, at)
    elif action == "answer" and clock.dispatched_at is None:
        clock.ended = "answered"
    elif action in ("merge", "cancel"):
        clock.ended = "merged" if action == "merge" else "cancelled"
    elif action == "pause" and not clock.paused:
        clock.pauses.append([at, None])
    elif action == "resume":
        _end_pause(clock, at)
    elif action == "grant":
        clock.extended_to = datetime.fromisoformat(data["until"])
    elif action == "milestone":  # the first record counts; the loop refuses a second one
        clock.milestones.setdefault(str(data.get("milestone")), at)
    elif action == "reopen":
        # Back to the unit that handled it, which must accept it again (as in the
        # order loop); the full times run again from the reopening.
        _new_cycle(clock, at)
        if clock.unit:
            clock.dispatched_at, clock.returned = at, False


def _new_cycle(clock: OrderClock, at: datetime) -> None:
    _end_pause(clock, at)
    clock.clock_start, clock.resolved_at, clock.pauses = at, None, []
    clock.accepted_at = clock.responded_at = clock.extended_to = None
    clock.cycle += 1


def _end_pause(clock: OrderClock, at: datetime) -> None:
    if clock.paused:
        clock.pauses[-1][1] = at


def _clock_deadlines(clock: OrderClock, policy: Policy, calendar: WorkingCalendar) -> Deadlines:
    pauses = [(p[0], p[1]) for p in clock.pauses]
    found = deadlines_for(
        policy, clock.clock_start, calendar, dispatched_at=clock.dispatched_at, pauses=pauses
    )
    if clock.extended_to and found.resolve_by and clock.extended_to > found.resolve_by:
        # A granted extension moves the resolution deadline, and its warning with it.
        shift = clock.extended_to - found.resolve_by
        found = replace(found, resolve_by=clock.extended_to,
                        warn_at=found.warn_at + shift if found.warn_at else None)
    return found


def timers_for(
    events: Iterable[Event], policy: Policy, calendar: WorkingCalendar
) -> list[TimerSpec]:
    """The reminders an order needs in its current state (due times may be past:
    they fire at once). Nothing once resolved, answered, merged or cancelled; while
    paused only what fell due before the pause (a pause does not rescue a late order)."""
    clock = read_events(events)
    if clock.ended or clock.clock_start is None or clock.resolved_at:
        return []
    deadlines = _clock_deadlines(clock, policy, calendar)
    base = {"policy": policy.name, "unit": clock.unit, "cycle": clock.cycle}
    specs: list[TimerSpec] = []
    unit_holds_it = clock.dispatched_at is not None and not clock.returned and clock.unit
    if unit_holds_it and clock.accepted_at is None and deadlines.accept_by:
        specs.append(_spec(ACCEPT_REMINDER, deadlines.accept_by, clock.unit, base, "accept"))
    warn, resolve = deadlines.warn_at, deadlines.resolve_by
    if unit_holds_it and warn and resolve and warn < resolve and not clock.paused:
        specs.append(_spec(DEADLINE_WARNING, warn, clock.unit, base, "resolve", deadline_at=resolve))
    if clock.responded_at is None and deadlines.respond_by:
        specs.append(_spec(OVERDUE_ESCALATION, deadlines.respond_by, SUPERVISOR, base, "respond"))
    if deadlines.resolve_by:
        specs.append(_spec(OVERDUE_ESCALATION, deadlines.resolve_by, SUPERVISOR, base, "resolve"))
    return specs + _milestone_timers(clock, policy, calendar, base, bool(unit_holds_it))


@dataclass(frozen=True)
class MilestoneState:
    """One milestone of an order: when it is due, when it was recorded, and how it stands:
    ``on_time`` / ``late`` (recorded after its time, or not recorded and past it at ``now``) /
    ``pending`` (not recorded, not yet due, or no ``now`` to judge by)."""

    code: str
    zh: str
    en: str
    due_at: datetime
    done_at: datetime | None
    state: str


def milestone_dues(policy: Policy, received_at: datetime, calendar: WorkingCalendar) -> list[tuple[Milestone, datetime]]:
    """Each milestone of the policy with its due instant. The chain runs from the receipt,
    whatever happens to the order after (a re-dispatch or a pause does not move it)."""
    cal = effective_calendar(policy, calendar)
    return [(m, add_duration(received_at, m.at, cal)) for m in policy.milestones]


def milestones_of(events: Iterable[Event], policy: Policy, calendar: WorkingCalendar,
                  now: datetime | None = None) -> list[MilestoneState]:
    """The order's milestones (none when its policy has none, or it was never received)."""
    clock = read_events(events)
    if not policy.milestones or clock.received_at is None:
        return []
    found = []
    for milestone, due in milestone_dues(policy, clock.received_at, calendar):
        done = clock.milestones.get(milestone.code)
        if done is not None:
            state = "on_time" if done <= due else "late"
        else:
            state = "late" if now is not None and now > due else "pending"
        found.append(MilestoneState(milestone.code, milestone.zh, milestone.en, due, done, state))
    return found


def _milestone_timers(clock: OrderClock, policy: Policy, calendar: WorkingCalendar, base: dict,
                      unit_holds_it: bool) -> list[TimerSpec]:
    """For each milestone not yet recorded: a reminder to the unit holding the order when
    ``warn_share`` of the time since the previous milestone (or the receipt) is used, and an
    escalation to the supervisor at its time. Recording it removes both (the timers are
    re-planned after every move); one escalation per milestone (its deadline is named
    ``milestone:<code>``, its instant fixed by the receipt)."""
    if not policy.milestones or clock.received_at is None:
        return []
    cal = effective_calendar(policy, calendar)
    specs: list[TimerSpec] = []
    previous = clock.received_at
    for milestone, due in milestone_dues(policy, clock.received_at, calendar):
        start, previous = previous, due
        if milestone.code in clock.milestones:
            continue
        names = {"milestone": milestone.code, "milestone_zh": milestone.zh, "milestone_en": milestone.en}
        warn = add_working_time(start, working_time_between(start, due, cal) * policy.warn_share, cal)
        if unit_holds_it and start < warn < due:
            specs.append(_spec(DEADLINE_WARNING, warn, clock.unit, {**base, **names}, MILESTONE + milestone.code,
                               deadline_at=due))
        specs.append(_spec(OVERDUE_ESCALATION, due, SUPERVISOR, {**base, **names}, MILESTONE + milestone.code))
    return specs


def _spec(
    kind: str, due: datetime, recipient: str, base: dict, deadline: str,
    deadline_at: datetime | None = None,
) -> TimerSpec:
    payload = {**base, "deadline": deadline, "deadline_at": (deadline_at or due).isoformat()}
    return TimerSpec(kind=kind, due_at=due, recipient=recipient, payload=payload)


def sla_outcome(
    events: Iterable[Event],
    policy: Policy,
    calendar: WorkingCalendar,
    now: datetime | None = None,
) -> Outcome:
    """On-time result of an order recomputed from its events. Without ``now`` an
    open order is ``on_time=None``; with it, an open order past its deadline is late."""
    clock = read_events(events)
    if clock.ended or clock.clock_start is None:
        return Outcome(applicable=clock.clock_start is not None and not clock.ended,
                       on_time=None, respond_on_time=None, overdue_by=None, deadlines=None)
    deadlines = _clock_deadlines(clock, policy, calendar)
    on_time, overdue_by = _judge(clock.resolved_at, deadlines.resolve_by, now)
    respond_on_time, _ = _judge(clock.responded_at, deadlines.respond_by, now)
    received = clock.received_at or clock.clock_start
    paused_for = sum(((p[1] or now or p[0]) - p[0] for p in clock.pauses), timedelta(0))
    return Outcome(
        applicable=True,
        on_time=on_time,
        respond_on_time=respond_on_time,
        overdue_by=overdue_by,
        deadlines=deadlines,
        responded_at=clock.responded_at,
        resolved_at=clock.resolved_at,
        time_to_resolve=clock.resolved_at - received if clock.resolved_at else None,
        redispatches=clock.redispatches,
        paused_for=paused_for,
    )


def _judge(
    done_at: datetime | None, due: datetime | None, now: datetime | None
) -> tuple[bool | None, timedelta | None]:
    if done_at is not None:
        if due is None:  # done while paused: the stopped clock cannot be late
            return True, None
        late = done_at > due
        return not late, (done_at - due) if late else None
    if due is not None and now is not None and now > due:
        return False, now - due
    return None, None
