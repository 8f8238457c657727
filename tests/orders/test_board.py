"""The supervisor's board: each lane's first orders and its count, from one read of the reach's
open orders, are what each lane's own definition selects (held here to a plain reading of every
order), within the reach, and still so past the read's bound, where counts become "N+"."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from cityline.accounts.models import Unit
from cityline.db import read_transaction, transaction
from cityline.orders import queries
from cityline.orders.models import Order
from cityline.orders.queries import BOARD_LANES, OrderFilter
from cityline.orders.rules import OPEN
from cityline.sla.models import Timer
from cityline.sla.rules import OVERDUE_ESCALATION
from tests.factories import add_units

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SOON = NOW + timedelta(hours=24)
STATUSES = ("received", "dispatched", "accepted", "replied", "returned", "closed", "merged")


def add_orders(sessions) -> None:
    """Sixty orders of two streets and a department, every lane and none; some deadlines tied."""
    pick = random.Random(7)
    with transaction(sessions) as session:
        units = {u.code: u for u in session.scalars(select(Unit))}
        for i in range(60):
            unit = pick.choice((units["SH-JA-CJD"], units["SH-JA-JNL"], units["SH-WJW"], None))
            street = pick.choice(("曹家渡街道", "江宁路街道"))
            due = pick.choice((None, NOW - timedelta(hours=30), NOW + timedelta(hours=pick.randrange(-48, 72))))
            order = Order(number=f"20260301-{i:05d}", channel="phone", text="路灯不亮", received_at=NOW - timedelta(days=1),
                          status=pick.choice(STATUSES), unit_id=unit.id if unit else None, district="静安区",
                          street=street, resolve_by=due, paused=pick.random() < 0.2,
                          extension_requested=NOW if pick.random() < 0.2 else None,
                          special_groups=["elderly"] if pick.random() < 0.3 else [])
            session.add(order)
            session.flush()
            if pick.random() < 0.3:
                session.add(Timer(order_id=order.id, kind=OVERDUE_ESCALATION, due_at=NOW, state="fired"))


def expected(sessions, reach: OrderFilter, limit: int, read: int | None = None) -> dict[str, tuple[list[str], int]]:
    """Each lane by its definition, over every order read in Python: its first ``limit`` and how
    many there are (among the ``read`` nearest deadlines, when given)."""
    with read_transaction(sessions) as session:
        units = set(reach.reach_units) if reach.reach_units is not None else None
        fired = set(session.scalars(select(Timer.order_id).where(Timer.state == "fired",
                                                                  Timer.kind == OVERDUE_ESCALATION)))
        mine = [o for o in session.scalars(select(Order)) if o.status in OPEN and (
            units is None or o.unit_id in units or any(o.district == d and (s is None or o.street == s)
                                                       for d, s in reach.reach_places))]
    due = {o.id: o.resolve_by.replace(tzinfo=UTC) if o.resolve_by else None for o in mine}
    member = {
        "due_soon": lambda o: due[o.id] is not None and NOW <= due[o.id] < SOON and not o.paused,
        "overdue": lambda o: due[o.id] is not None and due[o.id] < NOW,
        "escalated": lambda o: o.id in fired,
        "extensions": lambda o: o.extension_requested is not None,
        "special": lambda o: o.special_groups != [],
    }
    ordered = sorted(mine, key=lambda o: (due[o.id] is None, due[o.id] or NOW, o.id))
    return {lane: ([o.number for o in ordered if member[lane](o)][:limit],
                   sum(1 for o in ordered[:read] if member[lane](o))) for lane in BOARD_LANES}


def shown(lanes) -> dict[str, tuple[list[str], int]]:
    return {lane: ([o.number for o in found], int(count)) for lane, (found, count) in lanes.items()}


def test_each_lane_is_its_definition_within_the_reach_and_past_the_reads_bound(sessions):
    add_units(sessions)
    add_orders(sessions)
    with read_transaction(sessions) as session:
        ids = {u.code: u.id for u in session.scalars(select(Unit))}
    everyone = OrderFilter()
    street = OrderFilter(reach_units=frozenset({ids["SH-JA-CJD"]}), reach_places=frozenset({("静安区", "曹家渡街道")}))
    for reach in (everyone, street):
        want = expected(sessions, reach, 4)
        assert all(count for _, count in want.values()), "every lane has orders to show"
        with read_transaction(sessions) as session:
            assert shown(queries.board(session, reach, NOW, SOON, 4)) == want
            # Read no further than 5 open orders: the pages are the same (read lane by lane where
            # the first 5 held too few), the counts those of the 5, marked "more" ("N+").
            bounded = queries.board(session, reach, NOW, SOON, 4, read_at_most=5)
        assert shown(bounded) == {lane: (want[lane][0], count)
                                  for lane, (_, count) in expected(sessions, reach, 4, 5).items()}
        assert all(count.more for _, count in bounded.values())


def test_a_reach_of_several_ways_counts_each_order_once(sessions):
    """Each way into a reach (its units, each of its places) is read on its own and their orders
    joined: an order both of a unit and of a place of the reach is one order of its lanes."""
    add_units(sessions)
    add_orders(sessions)
    with read_transaction(sessions) as session:
        ids = {u.code: u.id for u in session.scalars(select(Unit))}
    district = OrderFilter(reach_units=frozenset({ids["SH-JA-CJD"], ids["SH-JA-JNL"]}),
                           reach_places=frozenset({("静安区", None)}))
    streets = OrderFilter(reach_units=frozenset(),  # places only, two of them
                          reach_places=frozenset({("静安区", "曹家渡街道"), ("静安区", "江宁路街道")}))
    units = OrderFilter(reach_units=frozenset({ids["SH-WJW"], ids["SH-JA-JNL"]}))  # units only
    for reach in (district, streets, units):
        want = expected(sessions, reach, 4)
        with read_transaction(sessions) as session:
            assert shown(queries.board(session, reach, NOW, SOON, 4)) == want
    with read_transaction(sessions) as session:
        assert shown(queries.board(session, OrderFilter(reach_units=frozenset()), NOW, SOON, 4)) == {
            lane: ([], 0) for lane in BOARD_LANES}  # a reach of nothing
        # Every order of a lane once, however many ways lead to it.
        for found, count in queries.board(session, district, NOW, SOON, 100).values():
            assert int(count) == len(found) == len({o.number for o in found})
