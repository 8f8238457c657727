"""Generated orders: the import format, determinism, outcomes, texts, places, languages."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import pytest

from cityline.geo.divisions import shanghai_streets
from cityline.sim import COLUMNS, generate, units_rows
from cityline.sim.catalogue import problems
from cityline.taxonomy import load_taxonomy

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_rows_have_exactly_the_import_columns_with_taxonomy_codes(small_run):
    taxonomy = load_taxonomy()
    codes = {field: set(taxonomy.codes(field))
             for field in ("kind", "category", "urgency", "special_group")}
    for row in small_run:
        assert tuple(row)[: len(COLUMNS)] == COLUMNS
        assert set(row) - set(COLUMNS) <= {"returned", "returned_from"}
        assert row["kind"] in codes["kind"]
        assert row["category"] in codes["category"]
        assert row["urgency"] in codes["urgency"]
        assert set(row["special_groups"]) <= codes["special_group"]
        assert row["received_at"].endswith("+08:00")
        assert row["text"]


def test_same_seed_same_orders_other_seed_other_orders():
    day = date(2020, 1, 28)
    first = list(generate("2020", scale=0.02, seed=3, start=day, end=day))
    again = list(generate("2020", scale=0.02, seed=3, start=day, end=day))
    other = list(generate("2020", scale=0.02, seed=4, start=day, end=day))
    assert first == again
    assert [r["text"] for r in first] != [r["text"] for r in other]


def test_a_day_is_the_same_whichever_period_it_is_generated_in():
    day = date(2020, 2, 10)
    alone = list(generate("2020", scale=0.02, seed=5, start=day, end=day))
    within = [r for r in generate("2020", scale=0.02, seed=5, start=day - timedelta(days=2),
                                  end=day + timedelta(days=1))
              if r["received_at"].startswith("2020-02-10")]
    # only the closing fields may differ: the longer period's end lies later
    keep = ("external_id", "received_at", "text", "address", "category", "unit")
    assert [{k: r[k] for k in keep} for r in alone] == [{k: r[k] for k in keep} for r in within]


def test_orders_come_in_time_order_with_unique_ids(small_run):
    times = [moment(r["received_at"]) for r in small_run]
    assert times == sorted(times)
    assert len({r["external_id"] for r in small_run}) == len(small_run)


def test_outcomes_are_consistent(small_run):
    end = max(moment(r["received_at"]) for r in small_run)
    for row in small_run:
        received = moment(row["received_at"])
        steps = [moment(row[k]) for k in ("dispatched_at", "replied_at", "closed_at") if row[k]]
        assert steps == sorted(steps) and all(s >= received for s in steps)
        if row["satisfaction"] is not None:
            assert row["closed_at"] is not None
        if row["closed_at"] is None:
            assert row["satisfaction"] is None
        if row["returned"]:
            assert row["returned_from"] not in (None, row["unit"])
        assert all(s.date() <= end.date() for s in steps)


def test_consultations_answered_on_the_call(small_run):
    answered = [r for r in small_run if r["dispatched_at"] is None and r["closed_at"]]
    assert len(answered) > 0.05 * len(small_run)
    for row in answered:
        assert row["kind"] == "consult" and row["unit"] == "SH" and row["replied_at"] is None
        assert moment(row["closed_at"]) - moment(row["received_at"]) <= timedelta(minutes=15)


def test_some_orders_are_overdue_misrouted_or_still_open(small_run):
    def late(row: dict) -> bool:
        limit = timedelta(hours=2) if row["urgency"] == "urgent" else timedelta(days=2)
        if row["replied_at"] is None:
            return False
        return moment(row["replied_at"]) - moment(row["received_at"]) > limit

    dispatched = [r for r in small_run if r["dispatched_at"]]
    overdue_urgent = [r for r in dispatched if r["urgency"] == "urgent" and late(r)]
    overdue_other = [r for r in dispatched if r["urgency"] != "urgent" and late(r)]
    returned = [r for r in small_run if r["returned"]]
    still_open = [r for r in small_run if r["closed_at"] is None]
    assert 0.02 < len(returned) / len(dispatched) < 0.1
    assert overdue_urgent and 0.03 < len(overdue_other) / len(dispatched) < 0.3
    recent = [r for r in still_open if r["received_at"] >= "2020-02-24"]
    assert still_open and len(recent) > 0.8 * len(still_open)  # a few stay open for weeks
    verdicts = Counter(r["satisfaction"] for r in small_run if r["satisfaction"])
    assert verdicts["satisfied"] > verdicts["basic"] > 0 and verdicts["unsatisfied"] > 0


def test_units_are_in_the_unit_tree_and_match_the_place(small_run):
    units = {u["code"]: u for u in units_rows()}
    for row in small_run:
        unit = units[row["unit"]]
        if unit["kind"] == "street_office":
            assert (unit["district"], unit["street"]) == (row["district"], row["street"])
        if row["returned_from"]:
            assert row["returned_from"] in units


def test_places_are_real_shanghai_streets_in_all_districts(small_run):
    streets = shanghai_streets()
    placed = [r for r in small_run if r["district"]]
    assert len(placed) > 0.7 * len(small_run)
    for row in placed:
        assert row["street"] in streets[row["district"]]
        assert row["address"]
    counts = Counter(r["district"] for r in placed)
    assert set(counts) == set(streets)
    assert counts["浦东新区"] > 3 * counts["黄浦区"]  # weighted by population


def test_texts_vary_within_each_problem_and_share_its_vocabulary(small_run):
    by_category = defaultdict(list)
    for row in small_run:
        if row["language"] == "zh":
            by_category[row["category"]].append(row["text"])
    for category, texts in by_category.items():
        if len(texts) >= 100:
            assert len(set(texts)) > 0.6 * len(texts), category
    masks = by_category["EPI.MASK"]
    assert sum("口罩" in t for t in masks) > 0.9 * len(masks)
    lengths = sorted(len(r["text"]) for r in small_run)
    assert lengths[0] <= 8 and lengths[-1] >= 200
    assert lengths[len(lengths) // 2] > 30
    operator = sum(t.startswith(("市民", "来电")) for t in (r["text"] for r in small_run))
    assert 0.3 < operator / len(small_run) < 0.7


def test_every_problem_has_many_phrasings():
    for item in problems():
        assert len(item.short) >= 2 or item.base > 0, item.id
        assert len(item.summary) + len(item.caller) >= 4, item.id


def test_foreign_language_callers(small_run):
    foreign = [r for r in small_run if r["language"] != "zh"]
    assert foreign and len(foreign) < 0.03 * len(small_run)
    assert {r["language"] for r in foreign} <= {"en", "fr", "de", "ja", "ko", "ru", "es"}
    for row in foreign:
        assert row["special_groups"] == ["foreigner"]
        if row["language"] in ("en", "fr", "de", "ru", "es"):
            assert not CHINESE.search(row["text"])
    english = [r["text"] for r in foreign if r["language"] == "en"]
    assert english and all(re.search(r"[A-Za-z]{3,}", t) for t in english)


def test_special_groups_are_mentioned_in_the_text(small_run):
    elderly = [r["text"] for r in small_run if "elderly" in r["special_groups"]]
    assert elderly
    hint = re.compile("老人|老户|孤老|岁|独居|纯老|九十|八十|老太")
    assert sum(bool(hint.search(t)) for t in elderly) > 0.9 * len(elderly)


def test_2022_peak_has_many_urgent_orders():
    peak = list(generate("2022", scale=0.02, start=date(2022, 4, 12), end=date(2022, 4, 12)))
    calm = list(generate("2022", scale=0.02, start=date(2022, 2, 22), end=date(2022, 2, 22)))

    def share(rows: list[dict], test) -> float:
        return sum(map(test, rows)) / len(rows)

    def urgent(row: dict) -> bool:
        return row["urgency"] == "urgent"

    assert share(peak, lambda r: r["category"].startswith("EPI.")) == pytest.approx(2 / 3, abs=0.05)
    assert share(peak, urgent) > 0.15
    assert share(peak, urgent) > 5 * share(calm, urgent)
    urgent_categories = Counter(r["category"] for r in peak if urgent(r))
    assert {c for c, _ in urgent_categories.most_common(2)} == {"EPI.MEDICAL", "EPI.SUPPLY"}
