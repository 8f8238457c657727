"""The order store under concurrency and against its own event log, on both databases."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from cityline.db import transaction
from cityline.intake.service import create_order
from cityline.orders.models import Order
from cityline.orders.queries import events_of
from cityline.orders.rules import replay
from cityline.orders.schemas import OrderCreate
from cityline.orders.service import describe, get_order, move_order
from tests.factories import add_units, order_body

NOW = datetime(2020, 1, 28, 2, 0, tzinfo=UTC)


def new_order(sessions, vault, route=True, **overrides):
    with transaction(sessions) as session:
        order, _ = create_order(session, OrderCreate(**order_body(**overrides)), actor="test", now=NOW, vault=vault,
                                route=route)
        return order.number


def test_eight_threads_create_4000_orders_with_unique_numbers(sessions, vault):
    def create_many(worker: int) -> list[str]:
        # Numbering under contention is what is tested here; routing (duplicates, catalogue) is not.
        return [new_order(sessions, vault, route=False, text=f"线程{worker}第{i}单：小区门口排队买口罩")
                for i in range(500)]

    with ThreadPoolExecutor(8) as pool:
        numbers = [n for batch in pool.map(create_many, range(8)) for n in batch]
    assert len(numbers) == len(set(numbers)) == 4000
    with sessions() as session:
        assert session.scalar(select(func.count(Order.id))) == 4000
        stored = set(session.scalars(select(Order.number)))
    assert stored == set(numbers)
    assert sorted(stored)[-1] == "20200128-04000"


def test_state_recomputed_from_events_matches_the_order(sessions, vault):
    add_units(sessions)
    number = new_order(sessions, vault)
    steps = [("dispatch", {"unit": "SH-JA-JNL"}), ("return", {"reason": "不属本街道"}),
             ("redispatch", {"unit": "SH-JA-CJD"}), ("accept", {}), ("reply", {"text": "已送药"}),
             ("visit", {"satisfaction": "unsatisfied"}), ("reopen", {"reason": "药品不对"}),
             ("accept", {}), ("reply", {"text": "已更换药品"}), ("visit", {"satisfaction": "satisfied"}),
             ("close", {})]
    for i, (action, params) in enumerate(steps):
        with transaction(sessions) as session:
            move_order(session, number, action, params, actor="test", now=NOW + timedelta(minutes=i + 1))
    with sessions() as session:
        order = get_order(session, number)
        rebuilt = replay((e.action, e.data, e.at) for e in events_of(session, order))
        view = describe(session, order)
    assert rebuilt.status == view.status == "closed"
    assert (rebuilt.unit, rebuilt.returns, rebuilt.reopens) == (view.unit, view.returns, view.reopens) == ("SH-JA-CJD", 1, 1)
    assert (rebuilt.dispatched_at, rebuilt.replied_at, rebuilt.closed_at) == (
        view.dispatched_at, view.replied_at, view.closed_at)


def test_phone_is_encrypted_at_rest_and_shown_masked(sessions, vault):
    number = new_order(sessions, vault, caller_phone="138-0000-5678")
    with sessions() as session:
        raw = session.execute(text("SELECT caller_phone_enc, caller_phone_masked FROM orders")).one()
        order = get_order(session, number)
        assert describe(session, order).caller_phone == "138****5678"
    assert "13800005678" not in raw[0] and raw[1] == "138****5678"
    assert vault.reveal(raw[0]) == "13800005678"
    assert order.caller_phone_digest == vault.phone_digest("+86 138 0000 5678")
