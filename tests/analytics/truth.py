"""Judging briefings against the simulator's truth: which alarms were real. Used by the tests
and by ``measure_detection.py``; the truth is only ever read here, never by cityline.analytics.

An alarm (an emerging issue) stands for the problem most of its orders belong to.
It is *true* when that problem really was rising on the day: its expected count
(the simulator's plan, before any random draw) was at least 1.5 times its mean
over the alarm method's baseline days, or it had no expected orders there at all.
Otherwise it is a false alarm: chance, not a change in what callers phone about.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np

from cityline.sim import daily_plan, read_truth_orders
from cityline.sim.catalogue import problem_index

RISE = 1.5
BASELINE = (30, 3)  # days before the alarm: from t-30 to t-3, as the 28-day methods


@dataclass
class Truth:
    scenario: str
    scale: float
    seed: int
    orders: dict[str, str]  # external id -> problem id

    @classmethod
    def load(cls, path: Path, scenario: str, scale: float, seed: int) -> Truth:
        return cls(scenario, scale, seed, read_truth_orders(path))

    def problem_of(self, external_ids) -> str | None:
        counts = Counter(self.orders[e] for e in external_ids if e in self.orders)
        return counts.most_common(1)[0][0] if counts else None

    def rising(self, problem: str, day: date) -> bool:
        expected = _expected(self.scenario, self.scale, self.seed)
        column = problem_index()[problem]
        today = expected.get(day)
        before = [expected[d][column] for d in _baseline_days(day) if d in expected]
        if today is None or not before:
            return True  # outside the plan: cannot call it false
        mean = float(np.mean(before))
        return mean <= 0.0 or today[column] >= RISE * mean


def _baseline_days(day: date) -> list[date]:
    first, last = BASELINE
    return [day - timedelta(days=n) for n in range(last, first + 1)]


@lru_cache(maxsize=8)
def _expected(scenario: str, scale: float, seed: int) -> dict[date, np.ndarray]:
    plan = daily_plan(scenario, scale, seed, start=date(2018, 6, 1), end=date(2020, 6, 30))
    return {day: plan.expected[row] for row, day in enumerate(plan.days)}
