"""The demo's live feed: the scenario's calls go in through intake and simulated people move them
along the loop. Driven step by step with the time given (no waiting on the wall clock)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from cityline.accounts.units import upsert_unit
from cityline.db import transaction
from cityline.orders.models import Order, OrderEvent
from cityline.routing import catalogue
from cityline.sim import units_rows
from cityline.sim.live import MAX_CALLS, MAX_MOVES, LiveFeed

NOW = datetime(2026, 12, 9, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def test_calls_go_in_through_intake_and_are_worked_along_the_loop(sessions, vault):
    with transaction(sessions) as session:
        for row in units_rows():
            upsert_unit(session, row)
        catalogue.replace_catalogue(session, catalogue.default_rows())
    # A minute of real time is an hour of the outbreak's peak day. The first step jumps from
    # 03:00 to 10:00: more calls are due than a step makes, the rest come with the next ones.
    feed = LiveFeed(sessions, vault, scenario="2020", scale=0.004, seed=3, scenario_start=datetime(2020, 2, 14, 3),
                    started=NOW, speed=60, rng=random.Random(5))
    steps = [feed.step(NOW + timedelta(minutes=minute)) for minute in (7, 8, 9, 10, 11, 12)]

    assert steps[0].calls == MAX_CALLS and steps[1].calls > 0
    assert all(step.calls <= MAX_CALLS and sum(step.moves.values()) <= MAX_MOVES for step in steps)
    calls = sum(step.calls for step in steps)
    moves = sum((step.moves for step in steps), Counter())
    assert moves["accept"] > 0 and moves["reply"] > 0 and moves["visit"] > 0

    with sessions() as session:
        orders = session.scalars(select(Order)).all()
        assert len(orders) == calls
        received = session.scalars(select(OrderEvent).where(OrderEvent.action == "received")).all()
        # Every call went in as intake records one: its actor, the real time of the step, triage's labels.
        assert {e.actor for e in received} == {"sim:operator"}
        assert all(NOW < e.at.astimezone(UTC) <= NOW + timedelta(minutes=12) for e in received)
        assert all(o.category and o.urgency and o.triage_source == "model" for o in orders)
        assert sum(1 for o in orders if o.district) > 0.5 * len(orders)  # city-wide problems have none
        actors = Counter(session.scalars(select(OrderEvent.actor).where(OrderEvent.action != "received")))
        assert actors["auto-dispatch"] + actors["sim:dispatcher"] > 0.8 * len(orders)
        assert any(actor.startswith("sim:") and actor not in ("sim:dispatcher", "sim:return-visit") for actor in actors)
        # Each order carries the deadlines the SLA engine gave it, as any live one.
        dispatched = session.scalars(select(Order).where(Order.dispatched_at.is_not(None))).all()
        assert dispatched and all(o.resolve_by is not None for o in dispatched if o.status != "closed")
        assert session.scalar(select(func.count()).select_from(Order).where(Order.status == "closed")) > 0


def test_after_the_last_day_of_the_scenario_the_calls_stop_and_the_work_goes_on(sessions, vault):
    feed = LiveFeed(sessions, vault, scenario="2020", scale=0.02, seed=3,
                    scenario_start=datetime(2020, 6, 30, 23, 50), started=NOW, speed=60)
    feed.step(NOW + timedelta(minutes=1))  # the last ten minutes of the last day the scenario covers
    assert feed.ended and feed.step(NOW + timedelta(minutes=2)).calls == 0
