"""The duplicates of a page of orders (the dispatcher's queue), read in one statement, are each
order's own duplicates as read one order at a time, within the asker's reach too."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from cityline.accounts.models import Unit
from cityline.db import read_transaction, transaction
from cityline.intake.duplicates import duplicates_of
from cityline.orders.models import Order
from cityline.orders.queries import OrderFilter
from tests.factories import add_units

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TEXTS = ("小区门口垃圾堆放多日无人清运", "小区门口垃圾堆放无人清运气味大", "路灯不亮夜间不安全", "路灯坏了晚上很黑")


def test_a_pages_duplicates_are_each_orders_own(sessions):
    add_units(sessions)
    pick = random.Random(3)
    with transaction(sessions) as session:
        unit = session.scalar(select(Unit).where(Unit.code == "SH-JA-CJD"))
        for i in range(40):
            session.add(Order(number=f"20260301-{i:05d}", channel="phone", text=pick.choice(TEXTS),
                              received_at=NOW - timedelta(hours=pick.randrange(0, 60)),
                              status=pick.choice(("received", "dispatched", "merged", "closed")),
                              category=pick.choice(("GEN.ENVIRONMENT", "GEN.SAFETY")), district="静安区",
                              street=pick.choice(("曹家渡街道", "江宁路街道")), unit_id=unit.id if i % 3 else None,
                              caller_phone_digest=pick.choice(("a", "b", None))))
    street = OrderFilter(reach_units=frozenset({unit.id}), reach_places=frozenset({("静安区", "曹家渡街道")}))
    with read_transaction(sessions) as session:
        page = list(session.scalars(select(Order).order_by(Order.id)))
        for reach in (None, street):
            at_once = duplicates_of(session, page, reach=reach)
            assert at_once == [duplicates_of(session, [order], reach=reach)[0] for order in page]
            assert sum(map(len, at_once)) > len(page), "most orders have duplicates"
