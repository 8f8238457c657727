"""The live feed: while the demo serves, the simulator keeps calling and its people keep working.

Callers: the scenario's own orders that come after the moment the demo was built (the
rest of the replayed day, then the next days), each arriving when the scenario's clock
reaches it — the clock running ``speed`` times as fast as the real one — and going in as
any call does, through intake (``intake.service.create_order``: triaged, placed, marked
by its zone, auto-dispatched when the catalogue is sure, given its deadlines). The
texts and places are the scenario's; the labels are triage's.

People: a dispatcher sends what intake left in the queue (and what units return) to the
catalogue's first unit; units accept, now and then return an order that is not theirs,
and reply; an operator makes the return visits and closes. Each waits a random time
(exponential, so a few take long and miss their deadlines) around a typical delay of its
own — slower units slower (``sim.context.unit_speed``) — through ``orders.service.move_order``,
the loop every person uses. A step does at most ``MAX_CALLS`` calls and ``MAX_MOVES`` moves,
so the feed never floods the database however far its clock jumps.

``LiveFeed.step(now)`` is one step, with the time given (tests drive it); ``run`` steps it
every few seconds on the real clock until told to stop.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityline.accounts.models import Unit
from cityline.db import read_transaction, transaction
from cityline.errors import DomainError
from cityline.intake.service import Classify, create_order
from cityline.intake.triage import classify_with
from cityline.orders.models import Order
from cityline.orders.rules import OPEN, Status
from cityline.orders.schemas import OrderCreate
from cityline.orders.service import move_order
from cityline.privacy import Vault
from cityline.routing.catalogue import suggest_units
from cityline.sim.context import unit_speed
from cityline.sim.generate import generate
from cityline.timeutil import to_local

log = logging.getLogger(__name__)

MAX_CALLS = 20  # new orders a step
MAX_MOVES = 30  # moves a step
STEP_SECONDS = 5.0  # how often ``run`` steps
MINUTE = 60.0
# Typical minutes (on the scenario's clock) before each person acts on an order in a status.
DISPATCH_MINUTES = 15.0  # the dispatcher, on what intake did not dispatch or a unit returned
ACCEPT_MINUTES = 40.0
REPLY_MINUTES = {"urgent": 60.0, "sub_urgent": 8 * 60.0, "normal": 18 * 60.0}
VISIT_MINUTES = 3 * 60.0  # the operator's return visit after the unit's reply
CLOSE_MINUTES = 10.0
RETURN_SHARE = 0.04  # of acceptances that are returns: the order was not the unit's
SATISFACTION = (("satisfied", 0.74), ("basic", 0.17), ("unsatisfied", 0.09))
REPLY_TEXT = "（模拟处置单位）已联系来电人并现场处理，情况已解决。"
RETURN_REASON = "（模拟处置单位）不属于本单位职责，请改派"
DISPATCHER, OPERATOR = "sim:dispatcher", "sim:return-visit"


@dataclass
class Step:
    """What one step did."""

    calls: int = 0
    moves: Counter[str] = field(default_factory=Counter)


@dataclass
class _Open:
    number: str
    status: str
    urgency: str | None
    category: str | None
    district: str | None
    street: str | None
    unit: str | None
    paused: bool


class LiveFeed:
    """The scenario's calls and its people's work, on a clock ``speed`` times the real one that
    starts at the scenario time ``scenario_start`` (naive, local) at the real ``started``."""

    def __init__(self, factory: sessionmaker[Session], vault: Vault, *, scenario: str, scale: float, seed: int,
                 scenario_start: datetime, started: datetime, speed: float = 1.0,
                 rng: random.Random | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"the replay speed must be a positive number, not {speed!r}")
        self.factory, self.vault = factory, vault
        self.scenario, self.scale, self.seed, self.speed = scenario, scale, seed, speed
        self.scenario_start, self.started, self.last = scenario_start, started, started
        self.rng = rng or random.Random(seed)
        self.calls: deque[dict] = deque()
        self.day: date | None = None  # the scenario day whose calls are queued
        self.ended = False  # the scenario has no more days

    def scenario_now(self, now: datetime) -> datetime:
        return self.scenario_start + (now - self.started) * self.speed

    def step(self, now: datetime) -> Step:
        """Everything due between the last step and ``now`` (aware), within the step's bounds."""
        done = Step()
        minutes = max((now - self.last).total_seconds(), 0.0) * self.speed / MINUTE
        self.last = now
        calls = self._calls_until(self.scenario_now(now))
        if calls:
            classify = self._classifier()
            for row in calls:
                self._call(row, classify, now)
                done.calls += 1
        for order, action in self._moves(minutes):
            if self._move(order, action, now):
                done.moves[action] += 1
        return done

    def _calls_until(self, moment: datetime) -> list[dict]:
        """The scenario's calls received after the start and up to ``moment``, at most MAX_CALLS
        (later ones wait for the next step)."""
        due = []
        while len(due) < MAX_CALLS and not self.ended:
            if not self.calls:
                self._queue_day(self.scenario_start.date() if self.day is None else self.day + timedelta(days=1))
                if self.day > moment.date():  # nothing more before the moment
                    break
                continue
            received = datetime.fromisoformat(self.calls[0]["received_at"]).replace(tzinfo=None)
            if received > moment:
                break
            row = self.calls.popleft()
            if received > self.scenario_start:
                due.append(row)
        return due

    def _queue_day(self, day: date) -> None:
        self.day = day
        try:
            self.calls.extend(generate(self.scenario, scale=self.scale, seed=self.seed, start=day, end=day))
        except ValueError:  # past the scenario's last day: the calls end, the work goes on
            self.ended = True

    def _classifier(self) -> Classify:
        """Triage as intake uses it (the active model), built outside any write transaction: the
        first build of a model takes seconds, and the server's writers must not wait for it."""
        with read_transaction(self.factory) as session:
            classify = classify_with(session)
            classify("预热", None)  # a model not built yet is built (and kept) now
        return classify

    def _call(self, row: dict, classify: Classify, now: datetime) -> None:
        """One call through intake, as an operator takes it: the caller's words, number and place
        (district and street, as the operator records them); triage labels it."""
        data = OrderCreate(text=row["text"], channel=row["channel"], caller_phone=row["caller_phone"],
                           address=row["address"], district=row["district"], street=row["street"],
                           language=row["language"] if row["language"] != "zh" else None)
        with transaction(self.factory) as session:
            create_order(session, data, actor="sim:operator", now=now, vault=self.vault, classify=classify)

    def _moves(self, minutes: float) -> list[tuple[_Open, str]]:
        """The open orders someone acts on in the ``minutes`` gone by, and what they do."""
        with read_transaction(self.factory) as session:
            rows = session.execute(
                select(Order.number, Order.status, Order.urgency, Order.category, Order.district, Order.street,
                       Unit.code, Order.paused)
                .outerjoin(Unit, Unit.id == Order.unit_id)
                .where(Order.status.in_([s.value for s in OPEN]), Order.merged_into_id.is_(None))
                .order_by(Order.id)).all()  # one order whatever the plan: a seeded feed repeats itself
        chosen = []
        for row in rows:
            order = _Open(*row)
            action, typical = self._next(order)
            if action and self.rng.random() < 1 - math.exp(-minutes / typical):
                chosen.append((order, action))
        self.rng.shuffle(chosen)
        return chosen[:MAX_MOVES]

    def _next(self, order: _Open) -> tuple[str | None, float]:
        """What happens next to an order, and after how many minutes typically."""
        slowness = unit_speed(order.unit) if order.unit else 1.0
        match Status(order.status):
            case Status.RECEIVED:
                return "dispatch", DISPATCH_MINUTES
            case Status.RETURNED:
                return "redispatch", DISPATCH_MINUTES
            case Status.DISPATCHED:
                return ("return" if self.rng.random() < RETURN_SHARE else "accept"), ACCEPT_MINUTES * slowness
            case Status.ACCEPTED if not order.paused:
                return "reply", REPLY_MINUTES.get(order.urgency or "normal", REPLY_MINUTES["normal"]) * slowness
            case Status.REPLIED:
                return "visit", VISIT_MINUTES
            case Status.VISITED:
                return "close", CLOSE_MINUTES
        return None, 1.0

    def _move(self, order: _Open, action: str, now: datetime) -> bool:
        """One move, in its own transaction; False when a person changed the order meanwhile (or
        the catalogue knows no unit for it): the feed leaves it to them."""
        actor = DISPATCHER if action in ("dispatch", "redispatch") else (
            OPERATOR if action in ("visit", "close") else f"sim:{order.unit}")
        try:
            with transaction(self.factory) as session:
                params = self._params(session, order, action)
                if params is None:
                    return False
                move_order(session, order.number, action, params, actor=actor, now=now)
            return True
        except DomainError:
            return False

    def _params(self, session: Session, order: _Open, action: str) -> dict | None:
        if action in ("dispatch", "redispatch"):
            units = [c.unit for c in suggest_units(session, order.category, order.district, order.street)
                     if c.unit != order.unit]
            return {"unit": units[0]} if units else None
        if action == "return":
            return {"reason": RETURN_REASON}
        if action == "reply":
            return {"text": REPLY_TEXT}
        if action == "visit":
            verdicts, weights = zip(*SATISFACTION, strict=True)
            return {"satisfaction": self.rng.choices(verdicts, weights)[0]}
        return {}


def run(feed: LiveFeed, stop: threading.Event, now, every: float = STEP_SECONDS) -> None:
    """Step ``feed`` every ``every`` seconds on the clock ``now()`` until ``stop`` is set. A failed
    step (the database busy, say) is logged once, by its type, and the next one tries again."""
    while not stop.wait(every):
        try:
            done = feed.step(now())
        except Exception as error:  # the feed must not take the server down
            log.warning("the demo's live feed skipped a step (%s)", type(error).__name__)
            continue
        if done.calls or done.moves:
            log.debug("live feed: %d calls, moves %s, scenario time %s", done.calls, dict(done.moves),
                      feed.scenario_now(to_local(now())).isoformat(timespec="seconds"))
