"""The detection methods and the alarm rule on made-up count series (no database)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cityline.analytics.alarms import Rule, group_terms, judge, volume_adjusted
from cityline.analytics.detect import (
    change_point,
    detect,
    ears,
    ewma,
    kleinberg_bursts,
    poisson_surprise,
    regression,
)

WEEKDAYS = np.arange(40) % 7


def series(*rows) -> np.ndarray:
    return np.array(rows, dtype=float)


def test_c1_compares_today_with_the_seven_days_before():
    flat = [10, 12, 9, 11, 10, 13, 9]
    found = ears(series(flat + [30], flat + [12]), "C1")
    assert found.expected[0, 7] == pytest.approx(np.mean(flat))
    assert found.alarms()[:, 7].tolist() == [True, False]
    assert np.isnan(found.statistic[0, :7]).all(), "no statistic without seven days of history"


def test_c2_guard_band_keeps_a_rise_out_of_its_own_baseline():
    rising = [5] * 7 + [5, 40, 42]  # the rise began yesterday
    c1, c2 = ears(series(rising), "C1"), ears(series(rising), "C2")
    assert c2.expected[0, 9] == pytest.approx(5.0)  # days t-9 .. t-3
    assert c1.expected[0, 9] > 5.0  # yesterday's 40 is in C1's baseline
    assert c2.statistic[0, 9] > c1.statistic[0, 9]


def test_c3_sums_three_days_of_moderate_excess():
    base = [4, 6, 5, 5, 4, 6, 5, 5, 4]
    moderate = ears(series(base + [9, 9, 9]), "C3")
    c2 = ears(series(base + [9, 9, 9]), "C2")
    assert not c2.alarms()[0, -1], "one moderate day is not enough for C2"
    assert moderate.alarms()[0, -1], "three of them are for C3"
    assert moderate.statistic[0, -1] == pytest.approx(sum(max(0.0, c2.statistic[0, d] - 1) for d in (-3, -2, -1)))


def test_a_quiet_series_cannot_look_more_regular_than_chance():
    zeros = ears(series([0] * 7 + [1], [0] * 7 + [3]), "C1")
    assert not zeros.alarms()[0, 7], "one order after a silent week is chance (Poisson floor)"
    assert zeros.alarms()[1, 7]


def test_regression_knows_the_day_of_week():
    weekly = np.array([30, 32, 31, 29, 30, 12, 10] * 6, dtype=float)  # quiet weekends
    monday_after = weekly.copy()
    found = regression(series(monday_after), np.arange(len(weekly)) % 7)
    assert not found.alarms()[0, 35:].any(), "a normal week is expected"
    spiked = weekly.copy()
    spiked[40] = 45  # a Saturday with a weekday's volume and more
    assert regression(series(spiked), np.arange(len(weekly)) % 7).alarms()[0, 40]


def test_ewma_catches_a_gradual_rise():
    gradual = [10, 11, 9, 10, 12, 10, 9, 11, 10, 10] * 3 + [13, 15, 17, 19]
    found = ewma(series(gradual))
    assert found.alarms()[0, -1]
    assert not found.alarms()[0, 29]


def test_detect_by_name_and_unknown_method():
    data = series([5] * 40)
    for method in ("C1", "C2", "C3", "EWMA"):
        assert detect(data, method).statistic.shape == data.shape
    with pytest.raises(ValueError, match="day of week"):
        detect(data, "REGRESSION")
    with pytest.raises(ValueError, match="unknown detection method"):
        detect(data, "CUSUM")


def test_poisson_surprise_is_the_exact_tail():
    # P(Y >= 3 | 0.5) = 1 - e^-0.5 (1 + 0.5 + 0.125)
    tail = 1 - math.exp(-0.5) * (1 + 0.5 + 0.125)
    assert poisson_surprise(np.array([3]), np.array([0.5]))[0] == pytest.approx(-math.log10(tail))
    assert poisson_surprise(np.array([0, 2]), np.array([1.0, np.inf])).tolist() == [0.0, 0.0]
    assert poisson_surprise(np.array([400]), np.array([100.0]))[0] > 50  # stable far in the tail


def test_change_point_and_bursts_find_where_a_rise_began():
    counts = np.array([1, 0, 1, 1, 0, 1, 0, 4, 6, 7], dtype=float)
    assert change_point(counts, expected=0.6, slack=0.5) == 7
    totals = np.full(10, 100.0)
    burst = kleinberg_bursts(counts, totals)
    assert burst[7:].all() and not burst[:6].any()


def test_volume_adjustment_scales_the_past_to_todays_total():
    adjusted = volume_adjusted(series([10, 20, 5]), np.array([100, 200, 50]))
    assert adjusted.tolist() == [[5.0, 5.0, 5.0]]


def test_a_topic_that_follows_the_whole_line_does_not_alarm_but_a_new_one_does():
    totals = np.array([100] * 35 + [800], dtype=float)  # the day the outbreak arrives
    follows = np.array([10] * 35 + [80], dtype=float)
    new = np.array([0] * 35 + [6], dtype=float)
    verdict = judge(np.stack([follows, new]), totals, WEEKDAYS[:36], Rule())
    assert verdict.alarm.tolist() == [False, True]
    assert verdict.growth[1] > 20 and verdict.surprise[1] > 5


def test_alarms_need_enough_orders():
    totals = np.full(36, 100.0)
    two = np.array([0] * 35 + [2], dtype=float)
    assert not judge(two[None, :], totals, WEEKDAYS[:36], Rule()).alarm[0]


def test_terms_whose_orders_overlap_are_one_issue():
    groups = group_terms([{"a", "b", "c"}, {"b", "c", "d"}, {"x", "y"}, {"c", "d", "e"}])
    assert groups == [[0, 1, 3], [2]]


def test_a_steady_ramp_of_a_new_problem_alarms_though_c1_absorbs_it():
    totals = np.full(36, 100.0)
    ramp = np.array([0] * 32 + [1, 2, 2, 3], dtype=float)  # C1's 7-day baseline already holds 1, 2, 2
    assert judge(ramp[None, :], totals, WEEKDAYS[:36], Rule()).alarm[0]
    assert not judge(ramp[None, :], totals, WEEKDAYS[:36], Rule(min_rise_surprise=float("inf"))).alarm[0]
