"""Scenarios: the outbreaks the simulator can replay, read from ``data/scenario_*.toml``.

A scenario says how busy the hotline is on ordinary days (one calibrated day a year
before the outbreak, a weekly and holiday rhythm, slow growth), how the outbreak
lifts the daily total and the epidemic share, and how each epidemic problem rises
and falls (piecewise-linear curves between dated anchors). It also names the
injected signals: new problems that analytics should catch early.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

import numpy as np

from cityline.sim.catalogue import problem, read_data

SCENARIOS = ("2020", "2022")


@dataclass(frozen=True)
class Curve:
    """Values at dated anchors, linear in between.

    Before the first anchor the curve is ``before`` (0 unless told); after the last
    it holds the last value.
    """

    days: np.ndarray  # date ordinals, ascending
    values: np.ndarray
    before: float = 0.0

    @classmethod
    def from_pairs(cls, pairs: list[list[Any]], where: str, before: float = 0.0) -> Curve:
        if not pairs:
            raise ValueError(f"{where}: a curve needs at least one [date, value] anchor")
        try:
            days = np.array([date.fromisoformat(str(d)).toordinal() for d, _ in pairs])
            values = np.array([float(v) for _, v in pairs])
        except (ValueError, TypeError) as error:
            raise ValueError(f"{where}: anchors must be [\"YYYY-MM-DD\", number]: {error}") from None
        if np.any(np.diff(days) <= 0):
            raise ValueError(f"{where}: anchor dates must be strictly increasing")
        return cls(days, values, before)

    def at(self, ordinals: np.ndarray) -> np.ndarray:
        inside = np.interp(ordinals, self.days, self.values)
        return np.where(ordinals < self.days[0], self.before, inside)

    @property
    def first_day(self) -> date:
        return date.fromordinal(int(self.days[0]))

    @property
    def last_day(self) -> date:
        return date.fromordinal(int(self.days[-1]))


@dataclass(frozen=True)
class Signal:
    """A problem injected to be found: when it starts and where it concentrates."""

    problem: str
    start: date
    districts: tuple[str, ...]
    streets_per_district: int  # streets drawn (by seed) in each of the districts
    streets: tuple[str, ...]  # named places, as "district/street"
    concentration: float  # share of the problem's orders placed in its chosen streets
    note: str


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    windows: tuple[tuple[date, date], ...]
    valid: tuple[date, date]
    baseline_day: date
    baseline_count: float
    yearly_growth: float
    total: Curve  # orders a day during the outbreak (outside its anchors: ordinary traffic)
    epidemic_share: Curve
    curves: dict[str, Curve]  # epidemic problem id -> relative weight
    lift: dict[str, float]  # ordinary problem id -> multiplier at the outbreak's height
    signals: tuple[Signal, ...]
    foreign_share: float  # of orders whose problem has a foreign-language topic
    channels: dict[str, float]

    def default_days(self) -> list[date]:
        """The scenario's windows plus the same calendar days a year earlier."""
        days: set[date] = set()
        for first, last in self.windows:
            day = first
            while day <= last:
                days.add(day)
                days.add(year_earlier(day))
                day += timedelta(days=1)
        return sorted(days)


def year_earlier(day: date) -> date:
    """The same calendar day a year before (29 February becomes the 28th)."""
    if day.month == 2 and day.day == 29:
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


@cache
def load_scenario(name: str) -> Scenario:
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    raw = read_data(f"scenario_{name}.toml")
    where = f"scenario {name}"
    outbreak = raw["outbreak"]
    curves = {}
    for problem_id, spec in raw.get("problems", {}).items():
        if not problem(problem_id).epidemic:
            raise ValueError(f"{where}: {problem_id} is not an epidemic problem; use [lift]")
        curves[problem_id] = Curve.from_pairs(spec["curve"], f"{where}: {problem_id}")
    lift = {key: float(value) for key, value in raw.get("lift", {}).items()}
    for problem_id in lift:
        problem(problem_id)
    baseline = raw["baseline"]
    return Scenario(
        name=name,
        title=raw["title"],
        windows=tuple((_day(a), _day(b)) for a, b in raw["windows"]),
        valid=(_day(raw["valid"][0]), _day(raw["valid"][1])),
        baseline_day=_day(baseline["anchor_date"]),
        baseline_count=float(baseline["anchor_count"]),
        yearly_growth=float(baseline["yearly_growth"]),
        total=Curve.from_pairs(outbreak["total"], f"{where}: outbreak.total"),
        epidemic_share=Curve.from_pairs(outbreak["epidemic_share"], f"{where}: epidemic_share"),
        curves=curves,
        lift=lift,
        signals=tuple(_signal(s, where) for s in raw.get("signal", [])),
        foreign_share=float(raw["foreign_share"]),
        channels={k: float(v) for k, v in raw["channels"].items()},
    )


def _signal(raw: dict[str, Any], where: str) -> Signal:
    problem(raw["problem"])
    return Signal(
        problem=raw["problem"],
        start=_day(raw["start"]),
        districts=tuple(raw.get("districts", ())),
        streets_per_district=int(raw.get("streets_per_district", 0)),
        streets=tuple(raw.get("streets", ())),
        concentration=float(raw.get("concentration", 0.0)),
        note=raw.get("note", ""),
    )


def _day(text: Any) -> date:
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise ValueError(f"not an ISO date (YYYY-MM-DD): {text!r}") from None
