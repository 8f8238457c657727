"""The orders' text index (orders/search.py) narrows a search; the LIKE decides.

A search through the index gives exactly what the LIKE alone gives (the same orders, in the same
order, the same counts) on a varied set of orders and searches, whichever way the index is read
(its candidates few, or many); the plan of a rare word reads the index, not every order; every
way an order is stored indexes it."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select

from cityline.db import transaction
from cityline.intake.importer import import_rows
from cityline.intake.service import create_many, create_order
from cityline.orders import queries, search
from cityline.orders.models import Order, SearchCount
from cityline.orders.queries import OrderFilter, filtered
from cityline.orders.schemas import OrderCreate
from tests.factories import add_units, add_units_and_catalogue, order_body
from tests.orders.test_read_plans import (
    as_stored_at_scale,
    full_scans_of_orders,
    plan_of,
    statements,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

TEXTS = ["路灯不亮，夜间行人不安全。", "小区门口垃圾堆放多日无人清运，气味很大！", "Street Light broken near Metro exit 2",
         "WiFi不能用，APP也打不开", "噪音扰民！！晚上10点后还在施工", "100%是骗局，请核实", "下划线_测试 a_b c_d",
         "反斜杠\\路径 C:\\temp\\x", "斜杠/分隔 a/b", "电话：021-12345678，请回电", "灯", "！？。", "ABC abc AbC",
         "長寧區虹橋路的路燈壞了", "Ａ全角ＡＢ字母", "中文English混合text123", "路 灯 不 亮", "路灯路灯路灯", "灯不亮了",
         "核酸检测点排队时间过长，希望增加采样点。", "50%折扣 100% off", "a%b a_b a\\b", "LIGHT light LiGhT"]
ADDRESSES = ["静安区曹家渡街道万航渡路100号", None, "延安东路123号", "Room 5B, 88 Nanjing Rd", "", "万航渡路1000弄",
             "浦东新区花木街道", "路灯杆旁"]
SEARCHES = ["路灯", "灯", "路灯不亮", "不亮，夜间", "灯不", "light", "LIGHT", "Light broken", "wifi", "10", "100%", "%",
            "_", "a_b", "\\", "\\路径", "/", "a/b", "021-1234", "！", "。", "ab", "AB", "万航渡路", "100号", "虹橋",
            "Ａ", "ＡＢ", "text12", "燃气泄漏", " ", "路 灯", "路灯路灯", "核酸检测", "a%b", "a\\b", "% off",
            "Nanjing", "5B", "20260301-00007", "20260301-0000", "20260301", "zz"]


def add_varied_orders(sessions, count: int = 240) -> list[str]:
    """``count`` orders of the texts and addresses above mixed (times repeating, so the order
    list's tie-break by id counts too), through the ORM; their numbers."""
    chance = random.Random(7)
    numbers = []
    with transaction(sessions) as session:
        for i in range(count):
            number = f"20260301-{i:05d}"
            session.add(Order(number=number, channel="phone", text=chance.choice(TEXTS),
                              address=chance.choice(ADDRESSES), status=chance.choice(["received", "closed"]),
                              received_at=NOW - timedelta(hours=chance.randrange(60)), category="GEN.SAFETY",
                              urgency="normal", kind="report", language="zh", special_groups=[],
                              resolve_by=NOW + timedelta(hours=chance.randrange(-30, 30))))
            numbers.append(number)
    return numbers


def by_like(session, f: OrderFilter, sort: str) -> list[int]:
    """Every order ``f`` finds by its LIKE alone (the search as it was), in the list's order."""
    order = queries._deadline_order(f) if sort == "deadline" else (Order.received_at.desc(), Order.id.desc())
    return list(session.scalars(filtered(select(Order.id), f).order_by(*order)))


def whole_list(session, f: OrderFilter, sort: str, page_size: int) -> tuple[list[int], list]:
    """Every page of the list by its cursor: the ids shown, and each page's total."""
    shown, totals, after = [], [], None
    while True:
        rows, total, after = queries.list_orders(session, f, page_size=page_size, sort=sort, after=after)
        shown += [order.id for order, *_ in rows]
        totals.append((int(total), total.more))
        if after is None:
            return shown, totals


# The index's candidates read: never whole, and the page newest first (0, 0.0, 1e9); never whole,
# the page testing each order for one on SQLite, reading the candidates on PostgreSQL (0, 2.0, 0);
# whole when 3 or fewer, else either way (3, 0.3, 5); always.
@pytest.mark.parametrize(("few", "dense", "candidate_cost"), [(0, 0.0, 1e9), (0, 2.0, 0), (3, 0.3, 5),
                                                              (2_000, 0.02, 5)])
def test_a_search_finds_what_the_like_alone_finds(sessions, monkeypatch, few, dense, candidate_cost):
    add_units(sessions)
    numbers = add_varied_orders(sessions)
    monkeypatch.setattr(queries, "SEARCH_FEW", few)
    monkeypatch.setattr(queries, "SEARCH_DENSE", dense)
    monkeypatch.setattr(queries, "CANDIDATE_COST", candidate_cost)
    with sessions() as session:
        for q in [*SEARCHES, numbers[7], numbers[-1]]:
            for f in (OrderFilter(text=q), OrderFilter(text=q, status="received")):
                for sort in ("received", "deadline"):
                    wanted = by_like(session, f, sort)
                    shown, totals = whole_list(session, f, sort, page_size=25)
                    assert shown == wanted, (q, f.status, sort)
                    assert totals[0] == (len(wanted), False), (q, f.status, sort)
                    for page in (2, 50):  # by number, also past the last: the same total
                        rows, total, _next = queries.list_orders(session, f, sort=sort, page=page, page_size=25)
                        assert [order.id for order, *_ in rows] == wanted[(page - 1) * 25:page * 25], (q, page)
                        assert (int(total), total.more) == (len(wanted), False), (q, f.status, sort, page)
                    # counted up to a limit: "3+" exactly when the LIKE finds more than 3
                    # (a second time, on PostgreSQL, from the count remembered the first: SearchCount)
                    for _again in range(2):
                        rows, total, _next = queries.list_orders(session, f, sort=sort, count_limit=3)
                        assert (int(total), total.more) == (min(len(wanted), 3), len(wanted) > 3), (q, f.status, sort)
                        assert [order.id for order, *_ in rows] == wanted[:50], (q, f.status, sort)
        assert by_like(session, OrderFilter(text="路灯"), "received")  # the set is not vacuous
        assert by_like(session, OrderFilter(text="a_b"), "received") != by_like(session, OrderFilter(text="a"),
                                                                                 "received")


@given(st.text(alphabet=st.sampled_from("路灯不亮aAbB1 ，_%\\Ａｂ長ΣσςİI"), max_size=30), st.integers(0, 30),
       st.integers(0, 30))
def test_every_bigram_of_a_search_is_one_of_any_text_holding_it(text, start, length):
    """The index's promise: a text that holds a search holds each of its bigrams, also where
    LIKE folds ASCII case (SQLite), so the index never loses a match."""
    q = text[start:start + length]
    assert search.terms(q) <= search.terms(text)
    assert search.terms(q.upper() if q.isascii() else q) <= search.terms(text.lower() if text.isascii() else text)


def test_terms_are_pairs_of_letters_and_digits_split_at_punctuation():
    assert search.terms("路灯不亮，WiFi 5G") == {"路灯", "灯不", "不亮", "wi", "if", "fi", "5g"}
    assert search.terms("灯", "！？", None, "") == set()
    assert search.terms("延安东路", "延安") == {"东路", "安东", "延安"}


def test_a_rare_word_is_read_from_the_index(sessions):
    """The page and the count of a rare word look its few orders up by id, having read the index;
    no statement reads every order."""
    add_units(sessions)
    add_varied_orders(sessions, 40)
    as_stored_at_scale(sessions)
    caught = statements(sessions, lambda session: queries.list_orders(session, OrderFilter(text="核酸检测")))
    sqlite = sessions.kw["bind"].dialect.name == "sqlite"
    # the number, the index, the count, the page (PostgreSQL: first what the search is known to
    # find; the page's orders' ids counted with them, then their rows)
    assert len(caught) == (4 if sqlite else 5)
    caught = caught if sqlite else caught[1:]
    scans = {s: found for s, p in caught if (found := full_scans_of_orders(sessions, s, p))}
    assert not scans, scans
    index = "order_search VIRTUAL TABLE" if sqlite else "ix_order_search_terms"
    assert index in " | ".join(plan_of(sessions, *caught[1]))
    for s, p in caught[2:]:  # the count and the page: orders by id (not the merge target's lookup)
        steps = plan_of(sessions, s, p)
        assert any(step.startswith("SEARCH orders USING INTEGER PRIMARY KEY") or
                   ("pk_orders" in step and "merge_target" not in step) for step in steps), steps


def test_a_count_that_stops_at_its_limit_is_remembered(sessions, monkeypatch):
    """PostgreSQL: a city-wide search whose count stopped at its limit is not counted again (orders
    are never deleted: it finds as many later); a search with any other filter always is."""
    add_units(sessions)
    add_varied_orders(sessions, 120)
    monkeypatch.setattr(queries, "SEARCH_FEW", 0)  # remembered past the count's limit alone
    postgres = sessions.kw["bind"].dialect.name == "postgresql"
    whole, narrowed = OrderFilter(text="路灯"), OrderFilter(text="路灯", status="received")
    with sessions() as session:
        wanted = [by_like(session, f, "received") for f in (whole, narrowed)]
    assert len(wanted[1]) > 3
    for f, found in zip((whole, narrowed), wanted, strict=True):
        first = statements(sessions, lambda session, f=f: queries.list_orders(session, f, count_limit=3))
        again = statements(sessions, lambda session, f=f: queries.list_orders(session, f, count_limit=3))
        with sessions() as session:
            rows, total, _ = queries.list_orders(session, f, count_limit=3)
        assert [order.id for order, *_ in rows] == found[:50] and (int(total), total.more) == (3, True)
        if postgres and f is whole:  # what it is known to find, the page (no index read, no count)
            assert len(again) == 2 < len(first), (first, again)
        else:
            assert len(again) == len(first)
    with sessions() as session:
        remembered = {row.text: row.at_least for row in session.scalars(select(SearchCount))}
        assert remembered == ({"路灯": 4} if postgres else {})
        # a count to 10,000 is not answered by a figure remembered from one to 3
        rows, total, _ = queries.list_orders(session, whole)
        assert (int(total), total.more) == (len(wanted[0]), False)


def indexed(sessions, word: str) -> set[int]:
    """The orders the index says may hold ``word``."""
    with sessions() as session:
        dialect = session.get_bind().dialect.name
        return set(session.scalars(search.candidates(dialect, search.match_text(dialect, search.terms(word)))))


def ids_of(sessions, numbers) -> set[int]:
    with sessions() as session:
        return set(session.scalars(select(Order.id).where(Order.number.in_(list(numbers)))))


def test_every_way_an_order_is_stored_indexes_it(sessions, vault):
    add_units_and_catalogue(sessions)
    with transaction(sessions) as session:  # one by one (the API's POST, the console's form)
        one, _ = create_order(session, OrderCreate.model_validate(order_body(text="窨井盖缺失很危险", address="临平路8号")),
                              actor="test", now=NOW, vault=vault)
        batch = create_many(session, [(i, OrderCreate.model_validate(order_body(
            external_id=f"GW-{i}", text=f"窨井盖第{i}次松动", caller_phone=f"1390000001{i}", address="Hailun Rd")))
            for i in range(3)], actor="gateway", now=NOW, vault=vault)
    report = import_rows(sessions, [(n, {"external_id": f"IMP-{n}", "received_at": "2026-03-01T08:15:00",
                                         "text": f"窨井盖被偷了{n}", "caller_phone": f"1380000{n:04d}",
                                         "address": "临平路9号"}) for n in range(2, 5)], vault=vault)
    assert report.imported == 3 and not report.bad
    with sessions() as session:
        imported = set(session.scalars(select(Order.id).where(Order.external_id.like("IMP-%"))))
    assert indexed(sessions, "窨井盖") == {one.id} | ids_of(sessions, [o.number for o in batch]) | imported
    assert indexed(sessions, "临平路") == {one.id} | imported  # the address too
    assert indexed(sessions, "hailun") == ids_of(sessions, [o.number for o in batch])
    with sessions() as session:
        rows, total, _ = queries.list_orders(session, OrderFilter(text="窨井盖被偷"))
        assert total == 3 and {order.id for order, *_ in rows} == imported


def test_a_filter_beside_the_search_still_narrows(sessions):
    add_units(sessions)
    add_varied_orders(sessions, 60)
    with sessions() as session:
        f = OrderFilter(text="路灯", status="closed")
        rows, total, _ = queries.list_orders(session, f)
        assert [o.id for o, *_ in rows] == by_like(session, f, "received") and total == len(rows)
        assert all(o.status == "closed" for o, *_ in rows)
        assert by_like(session, replace(f, status="received"), "received") != by_like(session, f, "received")


def migrated_store(database: str, tmp_path, name: str, orders: int):
    """(url, engine, sessions) of a database made by the migrations, holding ``orders`` varied orders."""
    from cityline.db import make_engine, make_sessionmaker
    from cityline.schema import upgrade
    from tests.pg import fresh_database

    url = fresh_database(database, tmp_path, name)
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    add_units(sessions)
    add_varied_orders(sessions, orders)
    return url, engine, sessions


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_migration_indexes_the_orders_stored_and_goes_down(database, tmp_path, vault):
    """0018 on a database holding orders: down drops the index, up makes it again with every order
    stored in it (in batches: three here), and the searches find what they found. (The code is
    run at the head only: a revision below it lacks columns the models have since.)"""
    from alembic import command

    from cityline.schema import alembic_config

    url, engine, sessions = migrated_store(database, tmp_path, "cityline_search_migration", 120)
    with sessions() as session:
        found = {q: whole_list(session, OrderFilter(text=q), "received", 50) for q in SEARCHES}
    engine.dispose()

    command.downgrade(alembic_config(url), "0017_open_special")
    with engine.connect() as conn:
        assert not inspect(conn).has_table(search.TABLE)
    engine.dispose()
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(search, "backfill", partial(search.backfill, batch=50))
    try:
        command.upgrade(alembic_config(url), "head")
    finally:
        monkeypatch.undo()
    with sessions() as session:
        assert {q: whole_list(session, OrderFilter(text=q), "received", 50) for q in SEARCHES} == found
        stored = session.execute(select(Order.id, Order.text)).all()
    assert len(stored) == 120
    for order_id, text in stored:  # each order found by its own text's bigrams
        assert not search.terms(text) or order_id in indexed(sessions, text)
    engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_remembered_counts_migration_goes_down_and_up(database, tmp_path):
    """0020 makes the table of remembered counts, empty, on a database holding orders; down drops
    it (every search counted again, the same)."""
    from alembic import command

    from cityline.schema import alembic_config

    url, engine, sessions = migrated_store(database, tmp_path, "cityline_search_counts_migration", 60)
    with sessions() as session:
        rows, total, _ = queries.list_orders(session, OrderFilter(text="路灯"), count_limit=3)
        found = ([order.id for order, *_ in rows], str(total))
        assert session.scalar(select(func.count()).select_from(SearchCount)) == (1 if database == "postgresql" else 0)
    engine.dispose()
    command.downgrade(alembic_config(url), "0019_board_lanes")
    with engine.connect() as conn:
        assert not inspect(conn).has_table(SearchCount.__tablename__)
    engine.dispose()
    command.upgrade(alembic_config(url), "head")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(SearchCount)) == 0
        rows, total, _ = queries.list_orders(session, OrderFilter(text="路灯"), count_limit=3)
        assert ([order.id for order, *_ in rows], str(total)) == found
    engine.dispose()
