"""When a count series raises an alarm today, and which alarming terms belong together. Pure.

Hundreds of series are tested every day (each category in each district, each
term used by a few orders today), so one method's threshold alone would raise
alarms every day by chance. A series alarms on the last day only when all of
these hold:

1. the detection method (``detect.py``; EARS C1 by default, chosen by the
   measurements in ``tests/analytics/measure_detection.py``) is above its threshold,
   or the last ``RECENT_DAYS`` are beyond 10^−``MIN_RISE_SURPRISE`` against the long
   baseline (a steady ramp of a new problem, which C1's 7-day baseline absorbs);
2. at least ``MIN_COUNT`` orders today: a briefing does not report one or two calls;
3. at least ``MIN_RATIO`` times what was expected: growth a reader would notice;
4. the exact Poisson tail of today's count, given the expectation (floored at
   ``RATE_FLOOR``), is below 10^−``MIN_SURPRISE``: a guard for the many tests.

Counts are first adjusted for the day's volume: a past day's count is scaled by
today's total over that day's total, so a series that merely follows the whole
line (busier Mondays, the outbreak's surge in every topic) is not a signal, and
the expectation of every method is already at today's volume.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cityline.analytics.detect import GUARD, LONG_BASELINE, detect, poisson_surprise

DEFAULT_METHOD = "C1"
MIN_COUNT = 3
MIN_RATIO = 2.0
MIN_SURPRISE = 3.5
MIN_LONE_SURPRISE = 8.0  # one alarming word this surprising is an issue by itself (emerging.py)
MIN_RISE_SURPRISE = 6.0  # alarms without the method when the last days are this surprising (rule 1)
RECENT_DAYS = 3
TOGETHER = 0.3  # Jaccard overlap of the orders of two alarming terms that makes them one issue


@dataclass(frozen=True)
class Rule:
    method: str = DEFAULT_METHOD
    min_count: int = MIN_COUNT
    min_ratio: float = MIN_RATIO
    min_surprise: float = MIN_SURPRISE
    recent_days: int = RECENT_DAYS
    min_rise_surprise: float = MIN_RISE_SURPRISE
    min_lone_surprise: float = MIN_LONE_SURPRISE  # a single alarming term is an issue (emerging.py)


@dataclass(frozen=True)
class Verdict:
    """The last day of every series: its count, what was expected, the method's statistic,
    the Poisson surprise, and whether it alarms."""

    count: np.ndarray
    expected: np.ndarray
    statistic: np.ndarray
    surprise: np.ndarray
    growth: np.ndarray  # recent orders over what the long baseline expects for those days
    alarm: np.ndarray


def volume_adjusted(counts: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Scale each day's counts to the last day's total volume (days without orders stay 0)."""
    totals = np.asarray(totals, dtype=np.float64)
    factor = np.where(totals > 0, totals[-1] / np.where(totals > 0, totals, 1.0), 0.0)
    return np.asarray(counts, dtype=np.float64) * factor[None, :]


def judge(counts: np.ndarray, totals: np.ndarray, weekdays: np.ndarray, rule: Rule = Rule()) -> Verdict:
    """Apply the rule (module doc) to the last column of ``counts`` (series x days)."""
    counts = np.asarray(counts, dtype=np.float64)
    adjusted = volume_adjusted(counts, totals)
    found = detect(adjusted, rule.method, weekdays)
    today = counts[:, -1]
    expected = np.nan_to_num(found.expected[:, -1], nan=0.0)
    statistic = np.nan_to_num(found.statistic[:, -1], nan=-np.inf)
    rate = long_rate(adjusted)
    recent = counts[:, -rule.recent_days:].sum(axis=1)
    growth = recent / (rate * rule.recent_days)
    enough = (today >= rule.min_count) & (today >= rule.min_ratio * expected)
    surprise = np.zeros(len(today))  # the exact tail only where the other conditions hold
    surprise[enough] = poisson_surprise(recent[enough], rate[enough] * rule.recent_days, floor=0.0)
    # A problem that grows a little every day hides in a 7-day baseline (C1 never fires on a
    # steady ramp: 1, 2, 2, 3, 4, 5 calls); against the long baseline it is plainly new.
    rising = (statistic > found.threshold) | (surprise >= rule.min_rise_surprise)
    alarm = enough & rising & (surprise >= rule.min_surprise)
    return Verdict(today, np.maximum(expected, rate), statistic, surprise, growth, alarm)


def long_rate(adjusted: np.ndarray) -> np.ndarray:
    """Orders a day each series had in its long baseline (28 days before a 2-day guard), with
    half an order added (Jeffreys): a term never used in four weeks has a rate near 1/56,
    not 0, and a term used daily is measured over 28 days rather than 7."""
    days = adjusted.shape[1]
    last = max(days - 1 - GUARD, 0)
    first = max(last - LONG_BASELINE, 0)
    span = last - first
    if span <= 0:
        return np.full(adjusted.shape[0], np.inf)  # no history: nothing can be judged new
    return (adjusted[:, first:last].sum(axis=1) + 0.5) / span


def group_terms(order_sets: Sequence[set[str]], together: float = TOGETHER) -> list[list[int]]:
    """Positions of alarming terms that are one issue: linked when the orders using them
    overlap (Jaccard ≥ ``together``), joined transitively. Largest group first."""
    parent = list(range(len(order_sets)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a in range(len(order_sets)):
        for b in range(a + 1, len(order_sets)):
            union = len(order_sets[a] | order_sets[b])
            if union and len(order_sets[a] & order_sets[b]) / union >= together:
                parent[root(b)] = root(a)
    groups: dict[int, list[int]] = {}
    for i in range(len(order_sets)):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda g: (-len(g), g))
