"""Emerging issues on the simulated outbreak, judged by the simulator's truth (``truth.py``):
the injected signals are found early, quiet weeks stay quiet. The full table for every
method, scale and seed is printed by ``python -m tests.analytics.measure_detection``."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from cityline.analytics.brief import build_briefing
from tests.analytics.measure_detection import QUIET, issues_on

SUBLANDLORD_WORDS = {"二房东", "国企", "国有", "减租", "转租", "承租", "产权方", "国有企业"}


def _first_day_flagged(data, problem: str, start: date, days: int):
    for offset in range(days + 1):
        day = start + timedelta(days=offset)
        for issue in issues_on(data.dataset, day, _rule()):
            if data.truth.problem_of(issue.members) == problem:
                return day, issue
    return None, None


def _rule():
    from cityline.analytics.alarms import Rule

    return Rule()


def _signal_places(data, problem: str) -> list[str]:
    truth = json.loads((data.dataset.folder / "truth-0.json").read_text(encoding="utf-8"))
    signal = next(s for s in truth["signals"] if s["problem"] == problem)
    return signal["places"]


@pytest.mark.slow
def test_sublandlord_problem_flagged_within_two_days_at_the_demo_scale(city):
    """At scale 0.1 (the demo's) the problem has a few orders a day from its start on 2020-02-09."""
    start = date(2020, 2, 9)
    day, issue = _first_day_flagged(city, "work.sublandlord", start, 2)
    assert day is not None, "not flagged by 2020-02-11"
    assert issue.category == "EPI.WORK" and SUBLANDLORD_WORDS & set(issue.keywords)
    assert start - timedelta(days=1) <= issue.first_seen <= day
    assert issue.places, "where the calls come from"


@pytest.mark.slow
def test_emerging_issue_names_where_it_concentrates(city):
    """The simulator puts 55% of the problem's orders in eight streets of four districts."""
    issue = next(i for i in issues_on(city.dataset, date(2020, 2, 12), _rule())
                 if city.truth.problem_of(i.members) == "work.sublandlord")
    districts = {place["district"] for place in _signal_places(city, "work.sublandlord")}
    assert issue.places[0].startswith(tuple(districts)), issue.places


def test_sublandlord_problem_flagged_in_a_small_city_once_its_orders_stand_out(small_city):
    """At scale 0.02 (seed 1) the problem has no order at all until 02-12, one on 02-12 and
    02-14, three on 02-15: it is flagged once its orders stand out, not in its first two
    days (see the report of ``measure_detection``)."""
    day, issue = _first_day_flagged(small_city, "work.sublandlord", date(2020, 2, 9), 14)
    assert day is not None and day <= date(2020, 2, 21)
    assert SUBLANDLORD_WORDS & set(issue.keywords)


def test_mask_reservations_flagged_on_their_first_day(small_city):
    day, issue = _first_day_flagged(small_city, "mask.reservation", date(2020, 2, 2), 0)
    assert day == date(2020, 2, 2)
    assert issue.first_seen >= date(2020, 2, 1)


def test_briefing_shows_the_emerging_issue(small_city):
    briefing = build_briefing(small_city.dataset, date(2020, 2, 2))
    issue = next(e for e in briefing.emerging if small_city.truth.problem_of(e.members) == "mask.reservation")
    assert issue.category == "EPI.MASK" and {"预约", "登记", "名单"} & set(issue.keywords)
    html = briefing.to_html()
    assert issue.title in html and issue.first_seen.isoformat() in html


@pytest.mark.parametrize("data_name", ["small_city", pytest.param("small_city_other_seed", marks=pytest.mark.slow)])
def test_quiet_weeks_raise_at_most_one_false_alarm_each(data_name, request):
    data = request.getfixturevalue(data_name)
    day, week, weeks = QUIET[0], [], []
    while day <= QUIET[1]:
        for issue in issues_on(data.dataset, day, _rule()):
            problem = data.truth.problem_of(issue.members)
            if problem is None or not data.truth.rising(problem, day):
                week.append((day.isoformat(), issue.title, problem))
        if (day - QUIET[0]).days % 7 == 6:
            weeks.append(week)
            week = []
        day += timedelta(days=1)
    assert len(weeks) == 7
    assert max(len(w) for w in weeks) <= 1, weeks


# Callers who each tell a new scam in their own words: they share one word (交通卡), and the
# problem grows a little every day (3, 4, 5 calls) over an everyday background.
SCAM_CALLS = ["有人打电话说交通卡押金可以退，让我下载软件", "交通卡退押金是真的吗，对方要我银行卡",
              "接到电话说帮我办交通卡退款，我妈转了钱", "自称客服说交通卡要注销，不然扣费",
              "交通卡公司来电让共享屏幕，靠谱吗", "我爸被骗了，说是交通卡押金返还", "短信说交通卡余额清退，点链接",
              "冒充客服以交通卡名义骗钱", "老人接到所谓交通卡退费电话", "交通卡退押金诈骗要管管",
              "又接到交通卡的骗子电话", "交通卡押金的电话是骗局吧"]


def test_a_new_problem_named_by_one_shared_word_is_flagged(tmp_path):
    import random

    from cityline.analytics.alarms import Rule
    from cityline.analytics.dataset import Dataset
    from cityline.analytics.export import export_tables
    from cityline.analytics.table import orders_from_rows

    everyday = [json.loads(line)["text"] for line in
                (Path(__file__).parents[2] / "eval" / "fresh" / "a.jsonl").read_text(encoding="utf-8").splitlines()[:200]]
    rng, first = random.Random(3), date(2021, 3, 1)
    rows = [{"external_id": f"B{d:02d}{n:02d}", "received_at": f"{first + timedelta(days=d)}T10:{n:02d}:00",
             "text": rng.choice(everyday)} for d in range(36) for n in range(40)]
    calls = iter(SCAM_CALLS)
    rows += [{"external_id": f"SCAM{d}{n}", "received_at": f"{first + timedelta(days=d)}T11:{n:02d}:00",
              "text": next(calls)} for d, count in ((33, 3), (34, 4), (35, 5)) for n in range(count)]
    export_tables(orders_from_rows(enumerate(rows, 1)), tmp_path)
    day, today = first + timedelta(days=35), {f"SCAM35{n}" for n in range(5)}

    def flagged(rule: Rule) -> list:
        return [e for e in build_briefing(Dataset(tmp_path), day, rule=rule).emerging if e.members == today]

    found = flagged(Rule())
    assert len(found) == 1 and "交通卡" in found[0].keywords
    assert not flagged(Rule(min_lone_surprise=float("inf"))), "two shared words were needed before"
