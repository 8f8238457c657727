"""The briefing archive, the morning run, and the HTTP API (SQLite, then PostgreSQL)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from cityline.analytics.dataset import Dataset
from cityline.analytics.export import export_unless_busy
from cityline.analytics.service import (
    analytics_folder,
    export_in_background,
    get_briefing,
    list_briefings,
    morning_run,
    next_run,
)
from cityline.api import create_app
from cityline.config import get_settings
from cityline.errors import NotFound
from tests.analytics.conftest import load_store
from tests.conftest import make_token

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2020, 1, 29, 6, 30, tzinfo=SHANGHAI)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """The settings' data directory (where the export lives) in a temporary folder."""
    monkeypatch.setenv("CITYLINE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def test_morning_run_stores_yesterday_once(store, data_dir):
    assert morning_run(store, MORNING) == date(2020, 1, 28)
    assert morning_run(store, MORNING) is None, "already stored"
    with store() as session:
        assert [day for day, _ in list_briefings(session)] == [date(2020, 1, 28)]
        stored = get_briefing(session, date(2020, 1, 28))
        assert stored.json["date"] == "2020-01-28" and "12345 热线快报" in stored.html
        with pytest.raises(NotFound, match="cityline brief --date 2020-01-27 --store"):
            get_briefing(session, date(2020, 1, 27))
    assert (data_dir / "analytics" / "orders" / "2020-01-28.parquet").exists()


def test_next_run_is_the_next_local_time():
    assert next_run(MORNING.astimezone(UTC), 6, 30) == datetime(2020, 1, 30, 6, 30, tzinfo=SHANGHAI)
    assert next_run(datetime(2020, 1, 29, 5, 0, tzinfo=SHANGHAI), 6, 30) == MORNING


def test_api_archive_briefing_and_situation(store, vault, data_dir):
    token = make_token(store, ["analyst"])
    with TestClient(create_app(store, vault), headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.get("/api/analytics/briefings").json() == []
        morning_run(store, MORNING)
        archive = client.get("/api/analytics/briefings").json()
        assert [b["day"] for b in archive] == ["2020-01-28"] and archive[0]["generated_at"]
        data = client.get("/api/analytics/briefings/2020-01-28").json()
        assert data["date"] == "2020-01-28" and data["totals"]["received"] > 0
        html = client.get("/api/analytics/briefings/2020-01-28", params={"format": "html"})
        assert html.headers["content-type"].startswith("text/html") and "快报" in html.text
        missing = client.get("/api/analytics/briefings/2020-01-20")
        assert missing.status_code == 404 and "--store" in missing.text
        assert client.get("/api/analytics/briefings/2020-13-01").status_code == 422
        live = client.get("/api/analytics/situation", params={"day": "2020-01-28"}).json()
        assert live["running"] is False and live["totals"]["received"] == data["totals"]["received"]
        assert live["yesterday"]["received"] > 0 and live["last_year"]["received"] == 0
        assert sum(h["count"] for h in live["hotspots"]) <= live["totals"]["received"]
        assert live["hotspots"] and live["categories"] and len(live["curve"]) == 30


def test_api_pdf(store, vault, data_dir):
    token = make_token(store, ["supervisor"])
    morning_run(store, MORNING)
    with TestClient(create_app(store, vault), headers={"Authorization": f"Bearer {token}"}) as client:
        pdf = client.get("/api/analytics/briefings/2020-01-28", params={"format": "pdf"})
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_api_needs_analytics_read(store, vault, data_dir):
    token = make_token(store, ["operator"])
    with TestClient(create_app(store, vault), headers={"Authorization": f"Bearer {token}"}) as client:
        for path in ("/api/analytics/briefings", "/api/analytics/briefings/2020-01-28",
                     "/api/analytics/situation"):
            assert client.get(path).status_code == 403, path


def _export_in_the_background(store) -> None:
    """One round of the exporter thread ``serve`` runs, on a real thread, then stopped."""
    stop = threading.Event()
    before = Dataset(analytics_folder()).exported_at()
    thread = threading.Thread(target=export_in_background, args=(store, stop, 0.05))
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while Dataset(analytics_folder()).exported_at() == before and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()


def test_the_situation_reads_the_background_export_and_never_exports(store, vault, data_dir):
    token = make_token(store, ["analyst"])
    with TestClient(create_app(store, vault), headers={"Authorization": f"Bearer {token}"}) as client:
        def situation(day: str) -> dict:
            answer = client.get("/api/analytics/situation", params={"day": day})
            assert answer.status_code == 200, answer.text
            return answer.json()

        first = situation("2020-01-28")
        assert first["exported_at"] is None and first["totals"]["received"] == 0, "no export yet: nothing"
        assert not (data_dir / "analytics" / "orders").exists(), "the request exported"
        _export_in_the_background(store)
        exported = situation("2020-01-28")
        assert exported["exported_at"] and exported["totals"]["received"] > 0
        # Orders arriving after the export are not counted, however often the page is asked ...
        assert load_store(store, vault, date(2020, 1, 29), date(2020, 1, 29)) > 0
        assert situation("2020-01-29")["totals"]["received"] == 0
        assert situation("2020-01-29")["exported_at"] == exported["exported_at"]
        # ... until the background exporter has run.
        _export_in_the_background(store)
        later = situation("2020-01-29")
        assert later["totals"]["received"] > 0 and later["exported_at"] > exported["exported_at"]


def test_one_export_at_a_time(store, data_dir):
    """A background exporter leaves the folder to an export already at work (single flight)."""
    folder = analytics_folder()
    with Dataset(folder).locked():
        assert export_unless_busy(store, folder) is None
        assert Dataset(folder).exported_at() is None
    report = export_unless_busy(store, folder)
    assert report is not None and report.orders > 0 and Dataset(folder).exported_at() is not None


def test_orders_cityline_opens_itself_are_not_counted_as_calls(store, vault, data_dir):
    """Epidemic tasks, checkpoint loops (channel warning) and inspectors' findings are work, not
    the public's calls: the briefing's figures and problems leave them out (queries.MADE_HERE)."""
    from cityline.analytics.brief import build_briefing
    from cityline.analytics.export import export_store
    from cityline.intake.importer import import_rows

    folder, day = data_dir / "analytics", date(2020, 1, 28)
    export_store(store, folder)
    before = build_briefing(Dataset(folder), day).as_json()
    rows = [{"external_id": f"MADE-{n}", "received_at": "2020-01-28 10:00:00", "channel": channel,
             "text": f"密接管控任务：住户 r000{n:04d} 同住人员核查", "kind": "report",
             "category": "EPI.ISOLATION", "urgency": "sub_urgent"}
            for n, channel in enumerate(["warning"] * 30 + ["inspection"] * 30)]
    report = import_rows(store, enumerate(rows, 1), vault=vault)
    assert report.imported == 60 and not report.bad
    export_store(store, folder)
    after = build_briefing(Dataset(folder), day).as_json()
    assert after["totals"] == before["totals"] and after["categories"] == before["categories"]
    assert "r000" not in str(after["issues"]) + str(after["emerging"])
