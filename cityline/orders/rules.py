"""The closed loop of a work order as pure rules.

received → dispatched → accepted → replied → visited → closed, with the side
paths a hotline needs: answered directly at intake, returned by a unit (退单)
and re-dispatched (改派), reopened after an unsatisfied return visit, merged
into another order (并单), cancelled.

:func:`apply_move` is the only place a state changes. The service calls it for
a live move and :func:`replay` calls it for every stored event, so an order's
status and timings can always be recomputed from its event log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any

from cityline.errors import Conflict, FieldError, Invalid


class Status(StrEnum):
    RECEIVED = "received"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    REPLIED = "replied"
    VISITED = "visited"
    CLOSED = "closed"
    RETURNED = "returned"
    MERGED = "merged"
    CANCELLED = "cancelled"


# The loop's status sets: everything else imports these rather than spelling statuses out.
FINAL = frozenset({Status.CLOSED, Status.MERGED, Status.CANCELLED})
OPEN = frozenset(Status) - FINAL
# Ended without being handled: merged into another order (which stands for it) or
# cancelled. No deadline counts for them and they are never a duplicate to merge into;
# a closed order still is (a repeat of a problem just closed is worth seeing).
WITHDRAWN = frozenset({Status.MERGED, Status.CANCELLED})
SATISFACTION = ("satisfied", "basic", "unsatisfied")

# action -> statuses it may start from. The target status is decided in apply_move.
ALLOWED_FROM: dict[str, frozenset[Status]] = {
    "dispatch": frozenset({Status.RECEIVED}),
    "redispatch": frozenset({Status.DISPATCHED, Status.ACCEPTED, Status.RETURNED}),
    "accept": frozenset({Status.DISPATCHED}),
    "return": frozenset({Status.DISPATCHED, Status.ACCEPTED}),
    "reply": frozenset({Status.ACCEPTED}),
    "visit": frozenset({Status.REPLIED}),
    "close": frozenset({Status.REPLIED, Status.VISITED}),
    "reopen": frozenset({Status.VISITED, Status.CLOSED}),
    "answer": frozenset({Status.RECEIVED}),
    # Waiting on the caller (no answer, documents missing) stops the deadline clock.
    "pause": frozenset({Status.ACCEPTED}),
    "resume": frozenset({Status.ACCEPTED}),
    # Asking for more time (延期): the unit asks with a reason and a new deadline, a
    # supervisor grants or refuses it.
    "extend": frozenset({Status.ACCEPTED}),
    "grant": frozenset({Status.ACCEPTED}),
    "refuse": frozenset({Status.ACCEPTED}),
    # A step of the order's hour chain done (a tracing order's "case reached", "contacts under
    # control" …: the milestones of its SLA policy). It changes deadlines' timers, not the
    # status, and is recorded by the unit that holds the order: from the dispatch (the first
    # step, "started", is due at once, before anyone has accepted) until it replies.
    "milestone": frozenset({Status.DISPATCHED, Status.ACCEPTED}),
    "merge": OPEN,
    "cancel": OPEN,
}
ACTIONS = tuple(ALLOWED_FROM)


@dataclass(frozen=True)
class OrderState:
    """What the loop knows about an order; everything here is derivable from events."""

    status: Status = Status.RECEIVED
    unit: str | None = None
    received_at: datetime | None = None
    dispatched_at: datetime | None = None
    accepted_at: datetime | None = None
    replied_at: datetime | None = None
    visited_at: datetime | None = None
    closed_at: datetime | None = None
    reply: str | None = None
    satisfaction: str | None = None
    merged_into: str | None = None
    returns: int = 0
    reopens: int = 0
    paused: bool = False
    extension_requested: datetime | None = None  # the deadline a unit asked for, awaiting a decision
    extended_to: datetime | None = None  # the deadline a supervisor granted


_STATE_FIELDS = frozenset(f.name for f in fields(OrderState))


def _changed(state: OrderState, **changes: Any) -> OrderState:
    """``dataclasses.replace(state, **changes)`` at a fifth of its cost (a bulk import replays
    every step of millions of histories): the state is a plain frozen dataclass, no
    ``__post_init__`` and every field in ``__init__``, so its fields copied with the changes
    are the value ``replace`` builds."""
    unknown = changes.keys() - _STATE_FIELDS
    if unknown:
        raise TypeError(f"OrderState has no field {', '.join(sorted(unknown))}")
    moved = object.__new__(OrderState)
    values = moved.__dict__
    values.update(state.__dict__)
    values.update(changes)
    return moved


def _need(params: Mapping[str, Any], *names: str) -> None:
    missing = [n for n in names if not str(params.get(n) or "").strip()]
    if missing:
        raise Invalid(
            f"{', '.join(missing)} required",
            [FieldError(n, "this action needs a value here", "required") for n in missing],
        )


@dataclass(frozen=True)
class Refusal:
    """Why a state forbids a move: a code the console translates (``problem.move.<code>``)
    and the API's English sentence."""

    code: str
    text: str

    def __str__(self) -> str:
        return self.text


def state_conflict(state: OrderState, action: str) -> Refusal | None:
    """Why the order's current state forbids ``action`` (None: it allows it, given the right
    values). The console offers exactly the moves this allows."""
    return _conflict(action, state.status, state.paused, state.extension_requested is not None)


def _conflict(action: str, status: str, paused: bool, extension_asked: bool) -> Refusal | None:
    """``state_conflict`` from the little of the state it reads."""
    allowed = ALLOWED_FROM[action]
    if status not in allowed:
        return Refusal("wrong_status", f"cannot {action} an order that is {status}; "
                                       f"{action} needs: {', '.join(sorted(allowed))}")
    if action == "pause" and paused:
        return Refusal("already_paused", "the order is already paused")
    if action == "resume" and not paused:
        return Refusal("not_paused", "the order is not paused")
    if action == "extend" and extension_asked:
        return Refusal("extension_pending", "an extension is already awaiting a supervisor's decision")
    if action in ("grant", "refuse") and not extension_asked:
        return Refusal("no_extension", "no extension has been asked for")
    return None


def check_move(state: OrderState, action: str, params: Mapping[str, Any]) -> None:
    """Raise Conflict for a move the current state forbids, Invalid for missing values."""
    if action not in ALLOWED_FROM:
        raise Invalid(
            f"unknown action '{action}'",
            [FieldError("action", f"one of: {', '.join(ACTIONS)}", "unknown_action")],
        )
    if refusal := state_conflict(state, action):
        raise Conflict(refusal.text, code=f"move.{refusal.code}", params={"action": action, "status": state.status})
    if action in ("dispatch", "redispatch"):
        _need(params, "unit")
        if state.status != Status.RETURNED and params["unit"] == state.unit:
            raise Conflict(f"the order is already with unit {state.unit}; pick another unit",
                           code="move.same_unit", params={"unit": state.unit or ""})
    elif action in ("return", "cancel", "reopen", "pause"):
        _need(params, "reason")
    elif action == "extend":
        _need(params, "reason", "until")
    elif action == "milestone":
        _need(params, "milestone")
    elif action in ("reply", "answer"):
        _need(params, "text")
    elif action == "visit":
        _need(params, "satisfaction")
        if params["satisfaction"] not in SATISFACTION:
            raise Invalid(
                f"satisfaction must be one of {', '.join(SATISFACTION)}",
                [FieldError("satisfaction", f"one of: {', '.join(SATISFACTION)}")],
            )
    elif action == "merge":
        _need(params, "into")
    elif action == "close" and state.status == Status.REPLIED:
        # Closing without a return visit must say why (caller unreachable, declined...).
        _need(params, "reason")


# Moves that must carry evidence on some channels: an inspection finding's rectification is
# shown, not told — the reply names at least one photo of the rectified site (the inspection
# package stores the photos and makes the move; a reply without them is refused).
EVIDENCE = {("inspection", "reply"): "photos"}


def check_evidence(channel: str, action: str, params: Mapping[str, Any]) -> None:
    """Raise Invalid when ``action`` on an order of ``channel`` lacks the evidence it needs."""
    needed = EVIDENCE.get((channel, action))
    if needed and not params.get(needed):
        raise Invalid(f"a reply to an {channel} order needs at least one photo of the rectified site "
                      f"(send it with POST /api/inspection/findings/{{number}}/reply)",
                      [FieldError(needed, "at least one photo", "photo_required")], code="move.photo_required")


def apply_move(state: OrderState, action: str, params: Mapping[str, Any], at: datetime) -> OrderState:
    """The state after ``action``; raises (and changes nothing) when the move is not allowed."""
    check_move(state, action, params)
    if action in ("dispatch", "redispatch"):
        return _changed(
            state, status=Status.DISPATCHED, unit=params["unit"], dispatched_at=at, accepted_at=None,
            extension_requested=None, extended_to=None,
        )
    if action == "accept":
        return _changed(state, status=Status.ACCEPTED, accepted_at=at)
    if action == "return":
        return _changed(state, status=Status.RETURNED, returns=state.returns + 1, accepted_at=None, paused=False,
                       extension_requested=None, extended_to=None)
    if action in ("pause", "resume"):
        return _changed(state, paused=action == "pause")
    if action == "extend":
        until = _when(params["until"])
        if until <= at:
            raise Invalid("the new deadline must be in the future", [FieldError("until", "after now", "in_future")])
        return _changed(state, extension_requested=until)
    if action == "grant":
        return _changed(state, extended_to=state.extension_requested, extension_requested=None)
    if action == "refuse":
        return _changed(state, extension_requested=None)
    if action == "milestone":  # which milestones the order's policy has is the SLA's business
        return state
    if action == "reply":
        return _changed(state, status=Status.REPLIED, replied_at=at, reply=params["text"], paused=False,
                       extension_requested=None)
    if action == "visit":
        return _changed(state, status=Status.VISITED, visited_at=at, satisfaction=params["satisfaction"])
    if action == "close":
        return _changed(state, status=Status.CLOSED, closed_at=at)
    if action == "answer":
        return _changed(state, status=Status.CLOSED, reply=params["text"], replied_at=at, closed_at=at)
    if action == "reopen":
        # Back to the unit that handled it; an order answered at intake has none and
        # goes back to the dispatch queue instead.
        back_to = Status.DISPATCHED if state.unit else Status.RECEIVED
        return _changed(
            state,
            status=back_to,
            reopens=state.reopens + 1,
            accepted_at=None,
            replied_at=None,
            visited_at=None,
            closed_at=None,
            satisfaction=None,
            extension_requested=None,
            extended_to=None,
            dispatched_at=at if state.unit else state.dispatched_at,
        )
    if action == "merge":
        return _changed(state, status=Status.MERGED, merged_into=params["into"], closed_at=at)
    return _changed(state, status=Status.CANCELLED, closed_at=at)  # cancel


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise Invalid(f"'{value}' is not an ISO 8601 date-time",
                      [FieldError("until", "ISO 8601", "datetime_parsing")]) from exc


def replay(events: Iterable[tuple[str, Mapping[str, Any], datetime]]) -> OrderState:
    """Recompute an order's state from its events (action, data, at), oldest first.

    Events that do not move the loop (notes, triage corrections, reminders) are skipped.
    """
    state = OrderState()
    for action, data, at in events:
        if action == "received":
            state = OrderState(received_at=at)
        elif action in ALLOWED_FROM:
            state = apply_move(state, action, data, at)
    return state


def allowed_actions(state: OrderState) -> list[str]:
    """Actions the order's current state permits (the console shows these as buttons)."""
    return list(_allowed(state.status, state.paused, state.extension_requested is not None))


@cache
def _allowed(status: str, paused: bool, extension_asked: bool) -> tuple[str, ...]:
    # A page of 50 orders asked every move of each (850 refusals built) for a handful of answers.
    return tuple(a for a in ALLOWED_FROM if _conflict(a, status, paused, extension_asked) is None)
