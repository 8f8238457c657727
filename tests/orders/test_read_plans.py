"""The console's reads use an index, never a full scan of orders, on SQLite and PostgreSQL.

Each read runs for real (the queue, the inbox, the board, the order list with each filter and
its next page by cursor or by number, the bounded counts); every statement it sends is caught on the engine
and explained with the same parameters. A stored year of a city's orders is millions of rows:
a read that scans them all is the slowness bench/bench_reads.py measures, caught here on a
handful.

PostgreSQL is asked with ``enable_seqscan`` off: on a test table of a few rows a sequential
scan is rightly the cheapest, so the plan on them would say nothing; with it off the planner
takes an index whenever one can serve the query and keeps a Seq Scan only when none can —
which is exactly what this test looks for. SQLite plans without statistics as if tables were
large, and the statistics ANALYZE would write for a million orders are given it (a test's few
rows would say nothing); a bare ``SCAN orders`` (no index) is the full scan.

The situation page reads the analytics export (Parquet, DuckDB), not the orders table: it is
timed by the bench, not planned here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, insert, text
from sqlalchemy.orm import Session

from cityline.accounts.models import Unit
from cityline.db import Base, transaction
from cityline.intake.duplicates import duplicates_of
from cityline.orders import queries
from cityline.orders.models import Order
from cityline.orders.queries import OrderFilter
from cityline.orders.service import describe_many
from tests.factories import add_units

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def add_orders(sessions) -> None:
    """A few orders, enough for every read to return rows and a list a next page."""
    with transaction(sessions) as session:
        unit = session.query(Unit).filter_by(code="SH-JA-CJD").one()
        for i, status in enumerate(("received", "dispatched", "accepted", "returned", "closed", "dispatched")):
            session.add(Order(number=f"20260301-{i:05d}", channel="phone", text="路灯不亮", status=status,
                              received_at=NOW - timedelta(hours=i), category="GEN.SAFETY", urgency="normal",
                              kind="report", language="en" if i == 2 else "zh", district="静安区", street="曹家渡街道",
                              special_groups=["elderly"] if i % 2 else [], unit_id=None if i == 0 else unit.id,
                              resolve_by=NOW + timedelta(hours=i - 3),
                              extension_requested=NOW if status == "accepted" else None))


def reads(session: Session, everyone: OrderFilter, district: OrderFilter, street: OrderFilter) -> None:
    """Every read of the console's work pages and the order list, as their handlers make them."""
    waiting, _count = queries.waiting_for_dispatch(session, everyone, 20)  # the dispatcher's queue, counted
    # Their possible duplicates, both ways of being alike (a caller's digest too: copies, not written).
    called = [Order(id=o.id, text=o.text, received_at=o.received_at, category=o.category, district=o.district,
                    street=o.street, caller_phone_digest="a caller's digest") for o in waiting]
    duplicates_of(session, called, reach=everyone)
    duplicates_of(session, called, reach=district)
    describe_many(session, waiting)
    for status in ("dispatched", "accepted"):  # a street office's inbox, described (its units' codes) for the page
        rows, _total, _next = queries.list_orders(session, replace(street, status=status), page_size=20, sort="deadline")
        describe_many(session, [order for order, *_ in rows])
    queries.board(session, district, NOW, NOW + timedelta(hours=24), 20)  # a district supervisor's board
    queries.board(session, everyone, NOW, NOW + timedelta(hours=24), 20)  # the city's
    for f in (everyone, replace(everyone, status="dispatched"), replace(everyone, category="GEN.SAFETY"),
              replace(everyone, category="GEN."), replace(everyone, urgency="normal", open=True),
              replace(everyone, channel="phone"), replace(everyone, language="foreign"),
              replace(everyone, open=True, special_group="any"), replace(everyone, open=True, due_before=NOW),
              replace(everyone, unit="SH-JA-CJD"), replace(everyone, status="dispatched", category="GEN.SAFETY"),
              district):
        rows, _total, following = queries.list_orders(session, f, page_size=1)
        if following:  # the next page, from the cursor
            queries.list_orders(session, f, page_size=1, after=following)
        queries.list_orders(session, f, page_size=1, page=2)  # a page by number: its orders' ids found first


def statements(sessions, run: Callable[[Session], None]) -> list[tuple[str, object]]:
    """The SQL ``run`` sent, with its parameters."""
    engine = sessions.kw["bind"]
    caught: list[tuple[str, object]] = []

    def catch(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            caught.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", catch)
    try:
        with sessions() as session:
            run(session)
    finally:
        event.remove(engine, "before_cursor_execute", catch)
    return caught


def plan_of(sessions, statement: str, parameters, *, without: tuple[str, ...] = ()) -> list[str]:
    """The steps of the statement's plan (PostgreSQL: with sequential scans off, see above), with
    the indexes ``without`` names dropped for the while (in a transaction rolled back after)."""
    engine = sessions.kw["bind"]
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        if engine.dialect.name == "sqlite":
            raw.execute("BEGIN")
            try:
                for index in without:
                    raw.execute(f"DROP INDEX {index}")
                return [row[-1] for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            finally:
                raw.execute("ROLLBACK")
        with raw.cursor() as cursor:
            for index in without:
                cursor.execute(f"DROP INDEX {index}")
            cursor.execute("SET enable_seqscan = off")
            cursor.execute(f"EXPLAIN {statement}", parameters)
            plan = [row[0].strip() for row in cursor.fetchall()]
            cursor.execute("RESET enable_seqscan")
        raw.rollback()
        return plan


def full_scans_of_orders(sessions, statement: str, parameters) -> list[str]:
    """The steps of the statement's plan that read all of orders (or of the events or timers)."""
    plan = plan_of(sessions, statement, parameters)
    if sessions.kw["bind"].dialect.name == "sqlite":
        return [step for step in plan if step.split(" (")[0] in ("SCAN orders", "SCAN order_events", "SCAN sla_timers")]
    return [step for step in plan if "Seq Scan on" in step
            and any(f"on {t} " in step + " " for t in ("orders", "order_events", "sla_timers"))]


# Rows per value of each column in a store of a million orders (bench/bench_reads.py's spread):
# SQLite plans by these, so the test gives it a million orders' statistics, not six rows'.
STORED, OPEN_STORED = 1_000_000, 20_000
PER_VALUE = {"status": 111_112, "category": 62_500, "urgency": 333_334, "channel": 166_667, "language": 333_334,
             "unit_id": 7_463, "district": 62_500, "street": 7_813, "kind": 20_000, "extension_requested": 4_588,
             "needs_confirmation": 500_000, "received_at": 1, "resolve_by": 1, "grid": STORED,
             "caller_phone_digest": STORED, "order_id": 6, "state": 700_000, "due_at": 1, "id": 1,
             "paused": 900_000, "special_groups": 900_000, "escalated": 960_000, "kind_of_timer": 300_000}


def as_stored_at_scale(sessions) -> None:
    """SQLite's statistics (sqlite_stat1) as ANALYZE writes them for a million orders, five events
    and two timers each; the open-orders partial indexes hold two in a hundred."""
    engine = sessions.kw["bind"]
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.exec_driver_sql("DELETE FROM sqlite_stat1")
        for table, rows in (("orders", STORED), ("order_events", 5 * STORED), ("sla_timers", 2 * STORED)):
            for index in Base.metadata.tables[table].indexes:
                if index._ddl_if is not None and index._ddl_if.dialect != "sqlite":
                    continue  # spelt for PostgreSQL (orders.models.lanes_index), not made here
                whole = OPEN_STORED if index.dialect_options["sqlite"]["where"] is not None else rows
                per, narrowest = [], whole
                for c in index.columns:  # a longer prefix of the index matches no more rows than a shorter
                    name = "kind_of_timer" if (table, c.name) == ("sla_timers", "kind") else c.name
                    narrowest = min(narrowest, PER_VALUE[name] * whole // STORED or 1)
                    per.append(narrowest)
                conn.exec_driver_sql("INSERT INTO sqlite_stat1 VALUES (?, ?, ?)",
                                     (table, index.name, " ".join(str(n) for n in (whole, *per))))
        conn.exec_driver_sql("ANALYZE sqlite_schema")  # the planner reads the statistics again


def test_every_read_of_the_console_uses_an_index(sessions):
    add_units(sessions)
    add_orders(sessions)
    as_stored_at_scale(sessions)
    with sessions() as session:
        units = {u.code: u.id for u in session.query(Unit)}
    everyone = OrderFilter()
    district = OrderFilter(reach_units=frozenset({units["SH-JA"], units["SH-JA-CJD"], units["SH-JA-JNL"]}),
                           reach_places=frozenset({("静安区", None)}))
    street = OrderFilter(reach_units=frozenset({units["SH-JA-CJD"]}))
    caught = statements(sessions, lambda session: reads(session, everyone, district, street))
    assert len(caught) > 30  # every read above ran (a change that skips them would pass vacuously)
    scans = {statement: found for statement, parameters in caught
             if (found := full_scans_of_orders(sessions, statement, parameters))}
    assert not scans, "\n\n".join(f"{s}\n  -> {found}" for s, found in scans.items())


def test_a_plan_without_an_index_is_caught(sessions):
    """The check itself: a filter on a column without an index is a full scan, and is found."""
    with sessions() as session:
        session.execute(text("SELECT 1"))
    found = full_scans_of_orders(sessions, "SELECT id FROM orders WHERE reply = 'x'", {})
    assert found


def test_the_open_orders_with_a_special_group_are_read_from_their_own_index(sessions):
    """The follow-up list (any special group, or one) and its count read the open orders with a
    special group from their partial index, not every open order's row (146 ms → 1 ms at 10 M)."""
    add_units(sessions)
    add_orders(sessions)
    as_stored_at_scale(sessions)

    def follow_up_lists(session: Session) -> None:
        for group in ("any", "elderly"):
            rows, total, _next = queries.list_orders(session, OrderFilter(open=True, special_group=group), page_size=5)
            assert total == 3 and all("elderly" in order.special_groups for order, *_ in rows)

    caught = statements(sessions, follow_up_lists)
    assert len(caught) == 4  # a count and a page, each way
    # On a test table of six rows the planners' costs of the indexes that could serve are a
    # toss-up (SQLite's, even on a million orders' statistics, turned on the order the indexes
    # were made in; at scale the small one wins: 151 → 10 ms at 10 M). With every other index of
    # orders out of the way, the plan must take this one rather than read the whole table: the
    # query's words imply the index's.
    others = tuple(sorted({index.name for index in Base.metadata.tables["orders"].indexes  # a name per database
                           if index.name != "ix_orders_open_special_received"}))
    for statement, parameters in caught:
        plan = " / ".join(plan_of(sessions, statement, parameters, without=others))
        assert "ix_orders_open_special_received" in plan, f"{statement}\n  -> {plan}"


def test_the_foreign_language_orders_are_read_from_their_own_index(sessions):
    """The foreign-language list and its count read the orders in other languages from their
    partial index, the query's words implying the index's (the language index's two ranges either
    side of "zh" were walked as one on PostgreSQL, every Chinese order tested: 11 ms at 1 M)."""
    add_units(sessions)
    add_orders(sessions)
    as_stored_at_scale(sessions)

    def foreign_list(session: Session) -> None:
        rows, total, _next = queries.list_orders(session, OrderFilter(language="foreign"), page_size=5)
        assert total == 1 and [order.language for order, *_ in rows] == ["en"]

    caught = statements(sessions, foreign_list)
    assert len(caught) == 2  # a count and a page
    # As above: with every other index of orders out of the way, the plan must take this one.
    others = tuple(sorted({index.name for index in Base.metadata.tables["orders"].indexes
                           if index.name != "ix_orders_foreign_received"}))
    for statement, parameters in caught:
        plan = " / ".join(plan_of(sessions, statement, parameters, without=others))
        assert "ix_orders_foreign_received" in plan, f"{statement}\n  -> {plan}"


def test_the_board_sorts_its_lanes_from_indexes_alone(sessions):
    """The board's read of a district's open orders reads each way into the reach (its units, its
    place) from the open orders' lanes index of that way, whether an escalation fired included:
    indexes alone, no row of orders, no timer (SQLite: a covering index; PostgreSQL: an index-only
    scan)."""
    add_units(sessions)
    add_orders(sessions)
    # The open orders of another district, far more than this one's (as sixteen districts have).
    with transaction(sessions) as session:
        session.execute(insert(Order), [{"number": f"20260201-{i:05d}", "channel": "phone", "text": "路灯不亮",
                                          "status": "dispatched", "received_at": NOW - timedelta(days=1),
                                          "district": "徐汇区", "resolve_by": NOW + timedelta(minutes=i),
                                          "special_groups": []} for i in range(2000)])
    if sessions.kw["bind"].dialect.name == "postgresql":
        with sessions.kw["bind"].connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE orders")
    as_stored_at_scale(sessions)
    with sessions() as session:
        units = {u.code: u.id for u in session.query(Unit)}
    district = OrderFilter(reach_units=frozenset({units["SH-JA"], units["SH-JA-CJD"], units["SH-JA-JNL"]}),
                           reach_places=frozenset({("静安区", None)}))
    caught = statements(sessions, lambda session: queries.board(session, district, NOW, NOW + timedelta(hours=24), 20))
    assert not [s for s, _ in caught if "sla_timers" in s]  # no order's timers asked
    lanes_read = [(s, p) for s, p in caught if "open_orders" in s]
    assert len(lanes_read) == 1
    # As for the special groups' index above: on a few rows the planners' costs of the indexes that
    # could serve are a toss-up (PostgreSQL took the city-wide one for both ways), so with every
    # other index of orders out of the way the plan must read these, and read them alone.
    wanted = ("ix_orders_open_unit_lanes", "ix_orders_open_place_lanes")
    others = tuple(sorted({index.name for index in Base.metadata.tables["orders"].indexes if index.name not in wanted}))
    plan = plan_of(sessions, *lanes_read[0], without=others)
    sqlite = sessions.kw["bind"].dialect.name == "sqlite"
    for index in wanted:
        used = [step for step in plan if index in step]
        assert used, f"{index} not in the plan:\n" + "\n".join(plan)
        assert all(("COVERING INDEX" if sqlite else "Index Only Scan") in step for step in used), "\n".join(plan)
