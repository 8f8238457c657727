"""Everything a simulation run needs, turned into arrays once before the first day."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache

import numpy as np

from cityline.sim.catalogue import problems
from cityline.sim.foreign import foreign_kit
from cityline.sim.outcomes import URGENCIES
from cityline.sim.places import StreetTable, signal_streets, street_table
from cityline.sim.plan import DailyPlan, baseline_total, daily_plan
from cityline.sim.scenarios import Scenario, load_scenario

# Special groups a Chinese-speaking caller may mention; "foreigner" comes with language.
from cityline.sim.texts import GROUPS, KINDS
from cityline.sim.units import DEPARTMENTS, street_office_codes

SCOPES = ("local", "district", "city")
# Chance that an order of each scope carries the caller's address.
PLACE_RATE = np.array([0.97, 0.9, 0.5])


@dataclass(frozen=True)
class Context:
    spec: Scenario
    plan: DailyPlan
    now: int  # the simulated moment (end of the period unless told), local seconds since 0001-01-01
    streets: StreetTable
    office_codes: tuple[str, ...]
    kind_cdf: np.ndarray  # problems x kinds
    urgency_cdf: np.ndarray  # problems x urgencies
    group_chance: np.ndarray  # problems x groups
    answerable: np.ndarray
    epidemic: np.ndarray  # bool per problem
    scope: np.ndarray  # index into SCOPES per problem
    departments: tuple[str, ...]  # per problem
    foreign_topic: np.ndarray  # bool per problem
    signals: dict[int, tuple[int, np.ndarray, float]]  # problem -> (start, streets, share)
    office_speed: np.ndarray  # per street
    district_speed: np.ndarray  # per district
    department_speed: np.ndarray  # per problem (its department)
    load: np.ndarray  # per planned day: traffic over ordinary level


def build_context(scenario: str, scale: float, seed: int, start: date | None,
                  end: date | None, until: datetime | None = None) -> Context:
    """``until`` (local time of the scenario) is the simulated moment: nothing after it has
    happened (orders not yet received, outcomes not yet reached); else the period's end."""
    spec = load_scenario(scenario)
    plan = daily_plan(scenario, scale, seed, start, end, until.date() if until else None)
    catalogue = problems()
    unknown = sorted({p.department for p in catalogue} - set(DEPARTMENTS))
    if unknown:
        raise ValueError(f"problems name departments that are not units: {', '.join(unknown)}")
    streets = street_table()
    index = {p.id: i for i, p in enumerate(catalogue)}
    last = until or datetime.combine(plan.days[-1] + timedelta(days=1), time())
    ordinary = np.array([baseline_total(spec, d) for d in plan.days]) * scale
    return Context(
        spec=spec,
        plan=plan,
        now=last.toordinal() * 86400 + last.hour * 3600 + last.minute * 60 + last.second,
        streets=streets,
        office_codes=street_office_codes(),
        kind_cdf=_cdf([p.kinds for p in catalogue], KINDS),
        urgency_cdf=_cdf([p.urgencies for p in catalogue], URGENCIES),
        group_chance=np.array([[p.groups.get(g, 0.0) for g in GROUPS] for p in catalogue]),
        answerable=np.array([p.answerable for p in catalogue]),
        epidemic=np.array([p.epidemic for p in catalogue]),
        scope=np.array([SCOPES.index(p.scope) for p in catalogue]),
        departments=tuple(p.department for p in catalogue),
        foreign_topic=np.array([p.id in foreign_kit().topics for p in catalogue]),
        signals={
            index[s.problem]: (s.start.toordinal(), chosen, s.concentration)
            for s in spec.signals
            if (chosen := signal_streets(spec, seed).get(s.problem)) is not None
        },
        office_speed=np.array([unit_speed(c) for c in street_office_codes()]),
        district_speed=np.array([unit_speed(c) for c in streets.district_codes]),
        department_speed=np.array([unit_speed(p.department) for p in catalogue]),
        load=plan.expected.sum(axis=1) / ordinary,
    )


def _cdf(weights: list[dict[str, float]], codes: tuple[str, ...]) -> np.ndarray:
    table = np.array([[w.get(code, 0.0) for code in codes] for w in weights])
    table /= table.sum(axis=1, keepdims=True)
    return np.cumsum(table, axis=1)


@cache
def unit_speed(code: str) -> float:
    """How slowly a unit handles orders (1 = typical): fixed per unit, from its code."""
    fraction = (zlib.crc32(code.encode()) % 1000) / 1000
    return 0.65 + 1.1 * fraction**2
