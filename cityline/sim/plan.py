"""The daily plan: how many orders each problem gets on each day.

Everything calibrated lives here, on counts, so figures can be checked without
writing a single text: ``daily_plan("2020").total(date(2020, 1, 27))``.
On ordinary days the day's total is a Poisson draw around the expected value; while
the outbreak sets the pace the total is the expected value itself, because the line
then answers as many calls as it has seats for. The total is split among problems
by a multinomial draw. Each day has its own random stream, so the plan of a day
does not depend on which other days are planned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from cityline.sim.calendar import days_before_festival, ordinary_traffic_factor
from cityline.sim.catalogue import Problem, problem_index, problems
from cityline.sim.scenarios import Scenario, load_scenario

FESTIVAL_LEAD_DAYS = 21  # how long before the festival eve pre-festival topics rise


@dataclass(frozen=True)
class DailyPlan:
    scenario: str
    scale: float
    seed: int
    days: tuple[date, ...]
    problem_ids: tuple[str, ...]
    expected: np.ndarray  # days x problems, floats
    counts: np.ndarray  # days x problems, ints

    def row(self, day: date) -> int:
        try:
            return self.days.index(day)
        except ValueError:
            raise ValueError(f"{day} is not in this plan ({self.days[0]} .. {self.days[-1]})") from None

    def total(self, day: date) -> int:
        return int(self.counts[self.row(day)].sum())

    def count(self, day: date, problem_id: str) -> int:
        return int(self.counts[self.row(day), problem_index()[problem_id]])

    def category_count(self, day: date, category: str) -> int:
        columns = [i for i, p in enumerate(problems()) if p.category == category]
        return int(self.counts[self.row(day), columns].sum())

    def epidemic_count(self, day: date) -> int:
        columns = [i for i, p in enumerate(problems()) if p.epidemic]
        return int(self.counts[self.row(day), columns].sum())

    def between(self, first: date, last: date) -> np.ndarray:
        """The counts of the planned days from ``first`` to ``last`` (inclusive)."""
        rows = [i for i, day in enumerate(self.days) if first <= day <= last]
        return self.counts[rows]


def plan_days(scenario: Scenario, start: date | None, end: date | None, until: date | None = None) -> list[date]:
    """The days to simulate: the scenario's default, or every day from start to end; none
    after ``until`` (the simulated moment's day: what comes later has not happened)."""
    if until is not None:
        days = [day for day in plan_days(scenario, start, end) if day <= until]
        if not days:
            raise ValueError(f"scenario {scenario.name} has no day up to {until}")
        return days
    if start is None and end is None:
        return scenario.default_days()
    defaults = scenario.default_days()
    first = start or defaults[0]
    last = end or defaults[-1]
    if first > last:
        raise ValueError(f"start {first} is after end {last}")
    low, high = scenario.valid
    if first < low or last > high:
        raise ValueError(
            f"scenario {scenario.name} covers {low} .. {high}; {first} .. {last} is outside it"
        )
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def daily_plan(
    scenario: str = "2020",
    scale: float = 1.0,
    seed: int = 1,
    start: date | None = None,
    end: date | None = None,
    until: date | None = None,
) -> DailyPlan:
    """Orders per day and problem for a scenario, scaled by ``scale`` (no day after ``until``)."""
    if not scale > 0:
        raise ValueError(f"scale must be a positive number, not {scale!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    spec = load_scenario(scenario)
    days = plan_days(spec, start, end, until)
    expected = expected_counts(spec, days) * scale
    at_capacity = outbreak_days(spec, days)
    counts = np.zeros(expected.shape, dtype=np.int64)
    for row, day in enumerate(days):
        rng = day_rng(seed, scenario, day, "plan")
        mean = float(expected[row].sum())
        if mean <= 0:
            continue
        total = round(mean) if at_capacity[row] else int(rng.poisson(mean))
        counts[row] = rng.multinomial(total, expected[row] / mean)
    return DailyPlan(scenario, scale, seed, tuple(days), tuple(p.id for p in problems()),
                     expected, counts)


def day_rng(seed: int, scenario: str, day: date, purpose: str) -> np.random.Generator:
    """The random stream for one day and one purpose (plan, orders, texts ...)."""
    tag = sum(ord(c) * 31**i for i, c in enumerate(purpose)) % 2**31
    return np.random.default_rng([seed, int(scenario), day.toordinal(), tag])


def expected_counts(spec: Scenario, days: list[date]) -> np.ndarray:
    """Expected orders per day and problem at scale 1."""
    catalogue = problems()
    ordinals = np.array([d.toordinal() for d in days])
    ordinary_total = np.array([baseline_total(spec, d) for d in days])
    total = np.where(outbreak_days(spec, days), spec.total.at(ordinals), ordinary_total)
    share = spec.epidemic_share.at(ordinals)
    expected = np.zeros((len(days), len(catalogue)))
    expected += _epidemic_part(spec, catalogue, ordinals, total * share, days)
    expected += _ordinary_part(spec, catalogue, days, share, total * (1 - share))
    return expected


def outbreak_days(spec: Scenario, days: list[date]) -> np.ndarray:
    """Which days the outbreak's own total curve governs."""
    ordinals = np.array([d.toordinal() for d in days])
    return (ordinals >= spec.total.days[0]) & (ordinals <= spec.total.days[-1])


def baseline_total(spec: Scenario, day: date) -> float:
    """Ordinary orders on ``day``: the calibrated day, grown yearly, in the day's rhythm."""
    level = spec.baseline_count / ordinary_traffic_factor(spec.baseline_day)
    years = (day - spec.baseline_day).days / 365.25
    return level * (1 + spec.yearly_growth) ** years * ordinary_traffic_factor(day)


def _epidemic_part(spec: Scenario, catalogue: tuple[Problem, ...], ordinals: np.ndarray,
                   epidemic_total: np.ndarray, days: list[date]) -> np.ndarray:
    weights = np.zeros((len(ordinals), len(catalogue)))
    for column, item in enumerate(catalogue):
        curve = spec.curves.get(item.id)
        if curve is not None:
            weights[:, column] = curve.at(ordinals)
    sums = weights.sum(axis=1)
    lacking = (epidemic_total > 0) & (sums <= 0)
    if lacking.any():
        day = days[int(np.argmax(lacking))]
        raise ValueError(f"scenario {spec.name}: epidemic share > 0 on {day} but no problem curve")
    return weights * (epidemic_total / np.where(sums > 0, sums, 1.0))[:, None]


def _ordinary_part(spec: Scenario, catalogue: tuple[Problem, ...], days: list[date],
                   share: np.ndarray, ordinary_total: np.ndarray) -> np.ndarray:
    base = np.array([p.base for p in catalogue])
    lift = np.array([spec.lift.get(p.id, 1.0) for p in catalogue])
    festival = np.array([p.festival for p in catalogue])
    peak = max(float(spec.epidemic_share.values.max()), 1e-9)
    intensity = np.clip(share / peak, 0.0, 1.0)
    weights = base[None, :] * (1 + (lift[None, :] - 1) * intensity[:, None])
    before = np.array([(days_before_festival(d) or 99) <= FESTIVAL_LEAD_DAYS for d in days])
    weights = np.where(before[:, None], weights * festival[None, :], weights)
    sums = weights.sum(axis=1)
    return weights * (ordinary_total / sums)[:, None]
