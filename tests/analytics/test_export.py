"""The export from a real order store (SQLite, then PostgreSQL): day files, incremental
refresh, and the same table as the import-format path gives."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow.parquet as pq
from sqlalchemy import select, update

from cityline.analytics.brief import build_briefing
from cityline.analytics.dataset import Dataset
from cityline.analytics.export import export_store
from cityline.analytics.table import orders_from_rows
from cityline.db import transaction, utcnow
from cityline.orders.models import Order
from cityline.sim import daily_plan, generate
from tests.analytics.conftest import STORE_SCALE

DAYS = [date(2020, 1, 27), date(2020, 1, 28)]


def test_export_writes_one_file_a_day_with_every_order(store, tmp_path):
    report = export_store(store, tmp_path)
    dataset = Dataset(tmp_path)
    assert dataset.days() == DAYS and sorted(report.days_written) == DAYS
    with store() as session:
        stored = session.scalar(select(Order.id).order_by(Order.id.desc()).limit(1))
        total = len(session.scalars(select(Order.id)).all())
    table = pq.read_table(dataset.day_file(DAYS[1]))
    assert report.orders == total and stored
    assert set(table.column("day").to_pylist()) == {DAYS[1]}
    assert all(table.column("terms").to_pylist()), "every order has its terms"
    assert dataset.units_file.exists() and dataset.watermark() is not None


def test_export_rewrites_only_the_days_that_changed(store, tmp_path):
    # Orders imported moments ago are inside the late-commit margin: a second refresh
    # right after the first must still see that the export already holds them.
    assert sorted(export_store(store, tmp_path).days_written) == DAYS
    assert export_store(store, tmp_path).days_written == [], "nothing changed"
    with transaction(store) as session:
        order = session.scalars(select(Order).order_by(Order.received_at.desc())).first()
        order.satisfaction = "unsatisfied"
        order.updated_at = utcnow()
    assert export_store(store, tmp_path).days_written == [DAYS[1]]
    table = pq.read_table(Dataset(tmp_path).day_file(DAYS[1])).to_pylist()
    assert next(r for r in table if r["number"] == order.number)["satisfaction"] == "unsatisfied"


def test_export_catches_a_change_committed_after_its_watermark(store, tmp_path):
    """A transaction still open while the export read commits later with an earlier
    updated_at: the next refresh must pick it up although it is older than the watermark."""
    export_store(store, tmp_path)
    watermark = Dataset(tmp_path).watermark()
    with transaction(store) as session:
        order = session.scalars(select(Order).order_by(Order.received_at)).first()
        session.execute(update(Order).where(Order.id == order.id)
                        .values(satisfaction="satisfied", updated_at=watermark - timedelta(seconds=5)))
    assert export_store(store, tmp_path).days_written == [DAYS[0]]
    table = pq.read_table(Dataset(tmp_path).day_file(DAYS[0])).to_pylist()
    assert next(r for r in table if r["number"] == order.number)["satisfaction"] == "satisfied"


def test_store_and_import_rows_give_the_same_table(store, tmp_path):
    export_store(store, tmp_path)
    from_store = pq.read_table(Dataset(tmp_path).day_file(DAYS[1])).to_pylist()
    rows = generate("2020", scale=STORE_SCALE, seed=1, start=DAYS[1], end=DAYS[1])
    from_rows = next(iter(orders_from_rows(enumerate(rows, 1), chunk=10_000))).to_pylist()
    by_id = {r["external_id"]: r for r in from_store}
    assert len(by_id) == len(from_rows)
    same = ("day", "category", "status", "unit", "dispatched_at", "closed_at", "satisfaction",
            "answered_directly", "terms", "deadline")
    for row in from_rows:
        stored = by_id[row["external_id"]]
        if row["district"] is None:  # the importer finds places in the text; rows take them as given
            continue
        assert {k: stored[k] for k in same} == {k: row[k] for k in same}


def test_briefing_from_the_store_export(store, tmp_path):
    export_store(store, tmp_path)
    briefing = build_briefing(Dataset(tmp_path), DAYS[1])
    data = briefing.as_json()
    assert data["totals"]["received"] == daily_plan("2020", STORE_SCALE, 1, DAYS[1], DAYS[1]).total(DAYS[1])
    assert data["totals"]["vs_same_day_last_year"] is None, "no orders a year earlier in this store"
    assert any(i["category"] == "EPI.MASK" for i in data["issues"])
    assert data["units"] and data["service"]["dispatched"] > 0


def test_briefing_of_an_empty_export(tmp_path):
    briefing = build_briefing(Dataset(tmp_path), DAYS[1])
    data = briefing.as_json()
    assert data["totals"]["received"] == 0 and data["issues"] == [] and data["emerging"] == []
    assert data["service"]["on_time_rate"] is None
    assert "12345" in briefing.to_html()
