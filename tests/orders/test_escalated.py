"""An order's ``escalated`` mark (what the board's escalated lane reads): set by the database when
its overdue escalation timer fires — through the SLA worker, which knows nothing of orders — and
by no other timer; made for the orders already escalated by migration 0021, and gone with it on
the way down. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, select, update

from cityline.db import make_engine, make_sessionmaker, read_transaction, transaction
from cityline.orders import queries
from cityline.orders.models import Order
from cityline.orders.queries import OrderFilter
from cityline.sla.models import Timer
from cityline.sla.rules import OVERDUE_ESCALATION
from cityline.sla.worker import run_once
from tests.pg import fresh_database

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def add_order(sessions, number: str, timer_kind: str, state: str = "pending") -> int:
    """An open order past its deadline with one timer of ``timer_kind``, due already."""
    with transaction(sessions) as session:
        order = Order(number=number, channel="phone", text="路灯不亮", received_at=NOW - timedelta(days=2),
                      status="dispatched", district="静安区", resolve_by=NOW - timedelta(hours=3))
        session.add(order)
        session.flush()
        session.add(Timer(order_id=order.id, kind=timer_kind, due_at=NOW - timedelta(hours=1), state=state,
                          recipient="role:supervisor", order_number=number))
        return order.id


def marks(sessions) -> dict[str, bool]:
    with read_transaction(sessions) as session:
        return dict(session.execute(select(Order.number, Order.escalated).order_by(Order.number)).all())


def test_the_worker_firing_an_escalation_marks_its_order_and_the_board_shows_it(sessions):
    add_order(sessions, "20260302-00001", OVERDUE_ESCALATION)
    add_order(sessions, "20260302-00002", "deadline_warning")
    assert marks(sessions) == {"20260302-00001": False, "20260302-00002": False}
    report = run_once(sessions, NOW, "w1", lambda timer: [])
    assert report.fired == 2
    assert marks(sessions) == {"20260302-00001": True, "20260302-00002": False}
    with read_transaction(sessions) as session:
        lanes = queries.board(session, OrderFilter(), NOW, NOW + timedelta(hours=24))
    assert [o.number for o in lanes["escalated"][0]] == ["20260302-00001"]
    assert [o.number for o in lanes["overdue"][0]] == ["20260302-00001", "20260302-00002"]


def test_a_timer_cancelled_or_failing_marks_nothing(sessions):
    add_order(sessions, "20260302-00001", OVERDUE_ESCALATION)
    with transaction(sessions) as session:
        session.execute(update(Timer).values(state="cancelled"))
    assert marks(sessions) == {"20260302-00001": False}

    def broken(timer):
        raise RuntimeError("the handler fails")

    add_order(sessions, "20260302-00002", OVERDUE_ESCALATION)
    assert run_once(sessions, NOW, "w1", broken).fired == 0
    assert marks(sessions) == {"20260302-00001": False, "20260302-00002": False}


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_migration_marks_the_orders_escalated_already_and_goes_down(database, tmp_path):
    from alembic import command

    from cityline.schema import alembic_config, upgrade

    url = fresh_database(database, tmp_path, "cityline_escalated_migration")
    config = alembic_config(url)
    upgrade(url, "0020_search_counts")
    engine = make_engine(url)
    with engine.begin() as conn:
        for n, (kind, state) in enumerate(((OVERDUE_ESCALATION, "fired"), (OVERDUE_ESCALATION, "pending"),
                                           ("deadline_warning", "fired")), start=1):
            conn.exec_driver_sql(
                "INSERT INTO orders (number, channel, text, received_at, status, special_groups, triage_source, "
                "needs_confirmation, paused, returns, reopens, created_at, updated_at) VALUES "
                f"('0000{n}', 'phone', 't', '2026-03-01 00:00:00', 'dispatched', '[]', 'manual', false, false, 0, 0, "
                "'2026-03-01 00:00:00', '2026-03-01 00:00:00')")
            conn.exec_driver_sql(
                "INSERT INTO sla_timers (order_id, kind, due_at, state, recipient, attempts, payload, created_at) "
                f"VALUES ({n}, '{kind}', '2026-03-01 00:00:00', '{state}', 'role:supervisor', 0, '{{}}', "
                "'2026-03-01 00:00:00')")
    engine.dispose()
    upgrade(url)
    sessions = make_sessionmaker(make_engine(url))
    assert marks(sessions) == {"00001": True, "00002": False, "00003": False}
    with transaction(sessions) as session:  # the trigger the migration made marks the next one fired
        session.execute(update(Timer).where(Timer.order_id == 2).values(state="fired"))
    assert marks(sessions) == {"00001": True, "00002": True, "00003": False}
    sessions.kw["bind"].dispose()

    command.downgrade(config, "0020_search_counts")
    engine = make_engine(url)
    assert "escalated" not in {c["name"] for c in inspect(engine).get_columns("orders")}
    with engine.begin() as conn:  # no trigger left behind to write a column that is gone
        conn.exec_driver_sql("UPDATE sla_timers SET state = 'pending' WHERE order_id = 2")
        conn.exec_driver_sql("UPDATE sla_timers SET state = 'fired' WHERE order_id = 2")
    engine.dispose()
    upgrade(url)
    command.check(config)
