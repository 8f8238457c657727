"""Calibration of the daily plan against what Shanghai's 12345 reported (scale 1.0).

Tolerances: daily totals on the calibrated days within 1%; the year-on-year change
on 2020-01-27 within ±0.4 of +7.7 (i.e. 5% of the ratio 8.7); the 2020-01-20 ..
2020-02-22 totals within 2% (all orders) and 3% (epidemic orders); masks on
01-28/29 within 5% and the queuing share within 3 points. Checked for two seeds.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from cityline.sim import daily_plan
from cityline.sim.catalogue import problems
from cityline.sim.scenarios import year_earlier

EPIDEMIC = np.array([p.epidemic for p in problems()])


@pytest.fixture(scope="module", params=[1, 2])
def plan_2020(request):
    return daily_plan("2020", scale=1.0, seed=request.param)


def test_calls_on_2020_01_27_and_year_on_year_change(plan_2020):
    today = plan_2020.total(date(2020, 1, 27))
    year_ago = plan_2020.total(date(2019, 1, 27))
    assert today == pytest.approx(19_295, rel=0.01)
    assert today / year_ago - 1 == pytest.approx(7.7, abs=0.4)


def test_peak_of_21213_on_2020_02_14_after_a_steep_rise(plan_2020):
    surge = plan_2020.between(date(2020, 1, 20), date(2020, 2, 22)).sum(axis=1)
    assert plan_2020.total(date(2020, 2, 14)) == pytest.approx(21_213, rel=0.01)
    assert surge.argmax() == (date(2020, 2, 14) - date(2020, 1, 20)).days
    assert plan_2020.total(date(2020, 1, 20)) > 4 * plan_2020.total(date(2020, 1, 19))


def test_totals_and_epidemic_orders_from_01_20_to_02_22(plan_2020):
    counts = plan_2020.between(date(2020, 1, 20), date(2020, 2, 22))
    assert len(counts) == 34
    assert counts.sum() == pytest.approx(690_000, rel=0.02)
    assert counts[:, EPIDEMIC].sum() == pytest.approx(467_000, rel=0.03)


def test_masks_and_queues_to_buy_them_on_01_28_and_01_29(plan_2020):
    days = (date(2020, 1, 28), date(2020, 1, 29))
    masks = sum(plan_2020.category_count(d, "EPI.MASK") for d in days)
    queues = sum(plan_2020.count(d, "mask.queue") for d in days)
    assert masks == pytest.approx(6_621, rel=0.05)
    assert queues / masks == pytest.approx(1_435 / 6_621, abs=0.03)


def test_sub_landlord_rent_relief_appears_on_02_09_and_grows(plan_2020):
    def week(first: date) -> int:
        return sum(plan_2020.count(first + timedelta(days=n), "work.sublandlord") for n in range(7))

    before = sum(plan_2020.count(date(2020, 1, 20) + timedelta(days=n), "work.sublandlord")
                 for n in range(20))
    assert before == 0
    assert plan_2020.count(date(2020, 2, 9), "work.sublandlord") > 0
    assert week(date(2020, 2, 16)) > 2 * week(date(2020, 2, 9)) > 0


def test_same_days_a_year_earlier_and_five_weeks_of_baseline():
    plan = daily_plan("2020")
    days = set(plan.days)
    assert all(year_earlier(d) in days for d in days if d.year == 2020)
    quiet = [d for d in plan.days if date(2019, 12, 1) <= d < date(2020, 1, 20)]
    assert len(quiet) >= 35
    assert all(plan.epidemic_count(d) < 0.05 * plan.total(d) for d in quiet)


def test_spring_festival_is_quieter_on_ordinary_topics():
    plan = daily_plan("2020")
    ordinary = ~EPIDEMIC
    first_day = plan.counts[plan.row(date(2019, 2, 5)), ordinary].sum()
    two_weeks_before = plan.counts[plan.row(date(2019, 1, 22)), ordinary].sum()
    assert first_day < 0.6 * two_weeks_before


def test_weekends_are_quieter_than_weekdays_in_ordinary_times():
    plan = daily_plan("2020", start=date(2019, 3, 4), end=date(2019, 3, 31))
    weekday = [plan.total(d) for d in plan.days if d.weekday() < 5]
    weekend = [plan.total(d) for d in plan.days if d.weekday() >= 5]
    assert np.mean(weekend) < 0.9 * np.mean(weekday)


def test_2022_peak_is_two_thirds_epidemic():
    plan = daily_plan("2022", scale=1.0)
    peak = max(plan.days, key=plan.total)
    assert date(2022, 4, 1) <= peak <= date(2022, 4, 20)
    assert plan.epidemic_count(peak) / plan.total(peak) == pytest.approx(2 / 3, abs=0.05)
    before = date(2022, 2, 22)
    assert plan.epidemic_count(before) / plan.total(before) < 0.25


def test_scale_shrinks_counts_proportionally():
    full = daily_plan("2020", scale=1.0, start=date(2020, 2, 1), end=date(2020, 2, 7))
    tenth = daily_plan("2020", scale=0.1, start=date(2020, 2, 1), end=date(2020, 2, 7))
    assert tenth.counts.sum() == pytest.approx(full.counts.sum() / 10, rel=0.01)


@pytest.mark.parametrize("kwargs, message", [
    ({"scenario": "2019"}, "unknown scenario"),
    ({"scale": 0}, "scale must be a positive"),
    ({"start": date(2020, 2, 1), "end": date(2020, 1, 1)}, "after end"),
    ({"start": date(2010, 1, 1), "end": date(2010, 1, 2)}, "outside"),
])
def test_bad_arguments_are_refused_with_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        daily_plan(**kwargs)
