"""Which unit each simulated order goes to, and where misrouted ones went first."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cityline.sim.catalogue import problems
from cityline.sim.context import Context
from cityline.sim.foreign import foreign_kit
from cityline.sim.outcomes import SATISFACTION, URGENCIES
from cityline.sim.texts import KINDS, objects
from cityline.sim.units import CITY_CENTRE, DEPARTMENTS


@dataclass(frozen=True)
class Lookups:
    """Object arrays that turn index arrays into column values with one numpy call."""

    channels: np.ndarray
    kinds: np.ndarray
    categories: np.ndarray
    urgencies: np.ndarray
    languages: np.ndarray  # position 0 is Chinese (language index -1)
    satisfaction: np.ndarray  # position 0 is None (no verdict)
    districts: np.ndarray
    streets: np.ndarray
    units: np.ndarray  # centre, street offices, district centres, departments
    department_of: np.ndarray  # problem -> position of its department in DEPARTMENTS
    district_start: np.ndarray  # district -> index of its first street
    district_size: np.ndarray


def build_lookups(ctx: Context) -> Lookups:
    table = ctx.streets
    owners = table.district_of
    departments = list(DEPARTMENTS)
    return Lookups(
        channels=objects((*ctx.spec.channels, "tipoff")),
        kinds=objects(KINDS),
        categories=objects([p.category for p in problems()]),
        urgencies=objects(URGENCIES),
        languages=objects(("zh", *foreign_kit().languages)),
        satisfaction=objects((None, *SATISFACTION)),
        districts=objects(table.districts),
        streets=objects(table.streets),
        units=objects((CITY_CENTRE[0], *ctx.office_codes, *table.district_codes, *departments)),
        department_of=np.array([departments.index(d) for d in ctx.departments]),
        district_start=np.array([np.flatnonzero(owners == d)[0]
                                 for d in range(len(table.districts))]),
        district_size=np.bincount(owners, minlength=len(table.districts)),
    )


def units(ctx: Context, lookup: Lookups, problem: np.ndarray, street: np.ndarray,
          owner: np.ndarray, direct: np.ndarray) -> np.ndarray:
    """Local problems go to the street office, district ones to the district centre, the
    rest (and any without a place) to their city department; answered ones stay at SH."""
    offices, districts = len(ctx.office_codes), len(ctx.streets.districts)
    scope = ctx.scope[problem]
    placed = street >= 0
    index = 1 + offices + districts + lookup.department_of[problem]
    index = np.where((scope == 0) & placed, 1 + street, index)
    index = np.where((scope == 1) & placed, 1 + offices + owner, index)
    index = np.where(direct, 0, index)
    return lookup.units[index]


def wrong_units(ctx: Context, lookup: Lookups, problem: np.ndarray, street: np.ndarray,
                owner: np.ndarray, pick: np.ndarray, returned: np.ndarray) -> np.ndarray:
    """Where a misrouted order went first: a neighbouring street office (local problems)
    or another department; None for orders that were not misrouted."""
    offices, districts = len(ctx.office_codes), len(ctx.streets.districts)
    count = len(DEPARTMENTS)
    other_department = (lookup.department_of[problem] + 1 + pick % (count - 1)) % count
    index = 1 + offices + districts + other_department
    start = lookup.district_start[np.maximum(owner, 0)]
    size = lookup.district_size[np.maximum(owner, 0)]
    neighbour = start + (street - start + 1 + pick % np.maximum(size - 1, 1)) % size
    local = (ctx.scope[problem] == 0) & (street >= 0) & (size > 1)
    index = np.where(local, 1 + neighbour, index)
    return np.where(returned, lookup.units[index], None)


def unit_speeds(ctx: Context, problem: np.ndarray, street: np.ndarray) -> np.ndarray:
    """How slowly the unit handling each order works (1 = typical)."""
    scope = ctx.scope[problem]
    placed = street >= 0
    s = np.maximum(street, 0)
    speed = ctx.department_speed[problem]
    speed = np.where((scope == 0) & placed, ctx.office_speed[s], speed)
    return np.where((scope == 1) & placed, ctx.district_speed[ctx.streets.district_of[s]], speed)
