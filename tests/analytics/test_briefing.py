"""The briefing on a small simulated city's data: the JSON of formats.md §3, the figures against the
simulator's truth, the mask problem split into queuing and the rest, HTML and PDF."""

from __future__ import annotations

import json
import re
import zlib
from datetime import date

import pytest

from cityline.analytics.brief import build_briefing
from cityline.sim import daily_plan

DAY = date(2020, 1, 28)


@pytest.fixture(scope="module")
def briefing(small_city):
    return build_briefing(small_city.dataset, DAY)


def _is_ratio(value) -> bool:
    return value is None or isinstance(value, float)


def test_json_holds_every_field_of_the_format(briefing):
    data = json.loads(json.dumps(briefing.as_json(), ensure_ascii=False))
    # formats.md §3's fields, and what was added beside them (the placement of the day's orders)
    assert set(data) == {"date", "timezone", "totals", "categories", "issues", "emerging", "hotspots",
                         "service", "units", "placement"}
    assert data["date"] == "2020-01-28" and data["timezone"] == "Asia/Shanghai"
    totals = data["totals"]
    assert set(totals) == {"received", "epidemic_related", "epidemic_share", "vs_previous_day",
                           "vs_same_day_last_year"}
    assert isinstance(totals["received"], int) and isinstance(totals["epidemic_related"], int)
    assert all(_is_ratio(totals[k]) for k in ("epidemic_share", "vs_previous_day", "vs_same_day_last_year"))
    for category in data["categories"]:
        assert set(category) == {"code", "name", "count", "share", "vs_previous_day"}
    assert data["categories"][0]["name"] == "隔离观察"
    for issue in data["issues"]:
        assert set(issue) == {"title", "keywords", "category", "count", "order_ids", "example"}
        assert issue["keywords"] and 1 <= len(issue["order_ids"]) <= 3
    for item in data["emerging"]:
        assert set(item) == {"title", "keywords", "category", "count", "first_seen", "score", "places",
                             "order_ids", "example"}
        assert date.fromisoformat(item["first_seen"]) <= DAY and isinstance(item["score"], float)
    assert data["emerging"], "the outbreak's first week has emerging issues"
    assert set(data["hotspots"][0]) == {"district", "street", "count"}
    assert set(data["service"]) == {"dispatched", "on_time_rate", "overdue", "resolution_rate",
                                    "satisfaction_rate", "answered_directly"}
    assert {"unit", "received", "on_time_rate", "satisfaction_rate"} <= set(data["units"][0])


def test_totals_match_the_simulated_day(briefing):
    plan = daily_plan("2020", 0.02, 1, start=date(2019, 1, 28), end=DAY)
    totals = briefing.totals
    assert totals["received"] == plan.total(DAY) == 408
    assert totals["epidemic_related"] == plan.epidemic_count(DAY)
    assert totals["epidemic_share"] == round(plan.epidemic_count(DAY) / plan.total(DAY), 4)
    last_year = plan.total(date(2019, 1, 28))
    assert totals["vs_same_day_last_year"] == round((408 - last_year) / last_year, 4)
    assert totals["vs_previous_day"] == round((408 - plan.total(date(2020, 1, 27))) / plan.total(date(2020, 1, 27)), 4)
    masks = next(c for c in briefing.categories if c["code"] == "EPI.MASK")
    assert masks["count"] == plan.category_count(DAY, "EPI.MASK")


def test_masks_split_into_queuing_and_the_rest(briefing, small_city):
    """No catalogue: the queue problem comes out of the words, with the truth's count."""
    masks = [i for i in briefing.issues if i.category == "EPI.MASK"]
    truth = small_city.numbers_of("mask.queue", DAY)
    queue = max(masks, key=lambda i: len(truth & set(i.members)))
    overlap = len(truth & set(queue.members))
    assert "排队" in queue.keywords[:2]
    assert overlap / len(queue.members) >= 0.8, "purity"
    assert overlap / len(truth) >= 0.8, "recall"
    assert abs(queue.count - len(truth)) <= max(2, 0.2 * len(truth))
    rest = [i for i in masks if i is not queue]
    assert rest and sum(i.count for i in rest) >= 30
    assert all(len(truth & set(i.members)) <= 0.2 * i.count for i in rest)


def test_service_figures_are_consistent(briefing):
    service = briefing.service
    assert 0 < service["dispatched"] < briefing.totals["received"] * 2
    assert 0 < service["answered_directly"] < briefing.totals["received"]
    for key in ("on_time_rate", "resolution_rate", "satisfaction_rate"):
        assert 0.0 <= service[key] <= 1.0
    assert sum(u["received"] for u in briefing.units) == service["dispatched"]
    assert all(u["unit"] and not u["unit"].startswith("SH-") for u in briefing.units[:5]), "unit names"


def test_html_is_chinese_with_charts(briefing):
    html = briefing.to_html()
    assert "12345 热线快报" in html and "苗头性、倾向性问题" in html and "口罩与防疫物资" in html
    assert html.count("<svg") == 3 and "<polyline" in html
    english = briefing.to_html_in("en")
    assert "daily briefing" in english and "Masks and protective supplies" in english


def _pdf_objects(pdf: bytes) -> bytes:
    """The PDF's compressed streams, inflated (fonts are named inside object streams)."""
    found = []
    for match in re.finditer(rb"stream\r?\n", pdf):
        try:
            found.append(zlib.decompressobj().decompress(pdf[match.end():match.end() + 2_000_000]))
        except zlib.error:
            continue
    return b"".join(found)


def test_pdf_embeds_a_chinese_font(briefing):
    pdf = briefing.to_pdf()
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    inside = _pdf_objects(pdf)
    assert b"/FontFile3" in inside or b"/FontFile2" in inside, "fonts must be embedded"
    assert b"CJK" in inside, "the embedded font must be a CJK one"


def test_examples_mask_phone_numbers(tmp_path):
    """Hand-written orders straight from the import format; a phone in a text never reaches a briefing."""
    from cityline.analytics.dataset import Dataset
    from cityline.analytics.export import export_tables
    from cityline.analytics.table import orders_from_rows

    texts = ["药店门口排队买口罩，人太多了，回电13912345678", "排队买口罩排了三个小时，联系13800001111",
             "药店排长队买口罩，没人管秩序，身份证11010119900307123X", "口罩排队的人挤在一起，很危险 110101900307123"] * 6
    rows = [{"external_id": f"H{i:03d}", "received_at": f"2020-01-28T{8 + i // 6:02d}:{i:02d}:00+08:00",
             "text": text, "category": "EPI.MASK", "kind": "complaint", "urgency": "normal",
             "district": "徐汇区", "street": "虹梅路街道"} for i, text in enumerate(texts)]
    export_tables(orders_from_rows(enumerate(rows, 1)), tmp_path)
    briefing = build_briefing(Dataset(tmp_path), DAY)
    shown = " ".join(example for issue in briefing.issues for example in issue.examples)
    assert briefing.issues and "排队" in shown
    for number in ("13912345678", "13800001111", "11010119900307123X", "110101900307123"):
        assert number not in shown and number not in briefing.to_html() and number not in json.dumps(briefing.as_json(), ensure_ascii=False)


def test_live_situation_compares_like_with_like(small_city):
    """While a day runs, yesterday and last year are counted up to the same clock time."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from cityline.analytics.situation import situation

    noon = datetime(2020, 1, 28, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    live = situation(small_city.dataset, DAY, now=noon)
    whole = situation(small_city.dataset, DAY, now=datetime(2020, 1, 29, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert live["running"] is True and whole["running"] is False
    assert 0 < live["yesterday"]["received"] < whole["yesterday"]["received"]
    assert 0 < live["last_year"]["received"] < whole["last_year"]["received"]
    assert whole["yesterday"]["received"] == daily_plan("2020", 0.02, 1, date(2020, 1, 27), date(2020, 1, 27)).total(date(2020, 1, 27))
    assert {"districts", "curve", "hotspots", "emerging", "issues"} <= set(live)
