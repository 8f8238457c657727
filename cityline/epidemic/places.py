"""The rules about places (formats.md §7): zones on a date, and arrivals from risk areas.

Pure, like ``rules.py``: values in, values out. Decisions:

- a case's place is its record in the residents' ledger (whatever its status);
  a case not in the ledger has no address and makes no zone;
- a case whose ledger record has no building seals its whole compound (the
  zone's ``building`` is null), since there is no smaller place to seal;
- a zone inside another zone at least as strict is not listed separately (a
  sealed compound swallows its sealed buildings and its controlled rest);
- a resident counts in the strictest zone that holds them, so each present
  resident counts once, and a zone is listed even with no one left in it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from cityline.epidemic.areas import Area, inside
from cityline.epidemic.kinds import LEVEL_ORDER, ZONE_ORDER
from cityline.epidemic.rules import CaseRecord, Params, Person, Trip, place_order

ZonePlace = tuple[str, str, str | None, str | None]  # district, street, compound, building


@dataclass(frozen=True)
class ZoneRow:
    level: str  # sealed | controlled | precaution
    district: str
    street: str
    compound: str | None
    building: str | None
    population: int
    cases: tuple[str, ...] = field(default=())

    @property
    def place(self) -> ZonePlace:
        return (self.district, self.street, self.compound, self.building)


def _contains(outer: ZonePlace, inner: ZonePlace) -> bool:
    """Whether the zone ``outer`` holds the place ``inner`` (its named levels are a prefix)."""
    return all(o is None or o == i for o, i in zip(outer, inner, strict=True))


def place_counts(residents: Iterable[Person]) -> dict[tuple[str, str, str, str | None], int]:
    """Present residents per (district, street, compound, building)."""
    counts: dict[tuple[str, str, str, str | None], int] = {}
    for person in residents:
        if person.status == "present":
            counts[person.place] = counts.get(person.place, 0) + 1
    return counts


def zones(cases: Iterable[CaseRecord], ledger: Mapping[str, Person], counts: Mapping[tuple, int], day: date,
          params: Params) -> list[ZoneRow]:
    """The zones on ``day`` from the cases reported on a local date from ``day`` − 13 to ``day``.
    ``ledger`` gives the cases' places; ``counts`` the present residents per building
    (:func:`place_counts`, or ``queries.place_counts`` over the snapshot)."""
    first = day - timedelta(days=params.zone_days)
    levels: dict[ZonePlace, str] = {}
    behind: dict[ZonePlace, set[str]] = {}
    for case in cases:
        if not first <= params.local_date(case.reported_at) <= day or case.person_id not in ledger:
            continue
        home = ledger[case.person_id]
        for level, place in (("sealed", (home.district, home.street, home.compound, home.building)),
                             ("controlled", (home.district, home.street, home.compound, None)),
                             ("precaution", (home.district, home.street, None, None))):
            if ZONE_ORDER[level] > ZONE_ORDER.get(levels.get(place, ""), 0):
                levels[place] = level
            behind.setdefault(place, set()).add(case.person_id)
    kept = {place: level for place, level in levels.items()
            if not any(other != place and _contains(other, place) and ZONE_ORDER[levels[other]] >= ZONE_ORDER[level]
                       for other in levels)}
    population = dict.fromkeys(kept, 0)
    for place, count in counts.items():
        holding = [p for p in kept if _contains(p, place)]
        if holding:
            strictest = max(holding, key=lambda p: (ZONE_ORDER[kept[p]], sum(v is not None for v in p)))
            population[strictest] += count
    rows = [ZoneRow(level, *place, population[place], tuple(sorted(behind[place]))) for place, level in kept.items()]
    return sorted(rows, key=lambda z: (-ZONE_ORDER[z.level], place_order(z.place)))


@dataclass(frozen=True)
class Arrival:
    person: str
    from_area: str
    risk_area: str
    level: str
    arrived_at: datetime
    trip_no: str | None
    mode: str
    departed_at: datetime | None = None


@dataclass(frozen=True)
class RiskWindow:
    """A risk area as the rule sees it: its levels, its level, the local dates it holds."""

    area: str
    level: str
    since: date
    until: date | None  # inclusive; None while not lifted
    where: Area

    def holds_on(self, day: date) -> bool:
        return self.since <= day and (self.until is None or day <= self.until)


def arrivals(trips: Iterable[Trip], risks: Iterable[RiskWindow], day: date, params: Params,
             resolve: Callable[[str], Area | None]) -> list[Arrival]:
    """Per person, the latest trip that arrived on a local date from ``day`` − 13 to ``day`` from
    inside a high or medium area on the trip's departure date (arrival date without one); the
    strictest matching area is named (then the most specific, then by name)."""
    first = day - timedelta(days=params.arrival_days)
    risks = [r for r in risks if LEVEL_ORDER.get(r.level, 0) >= LEVEL_ORDER["medium"]]
    latest: dict[str, Arrival] = {}
    for trip in trips:
        if not first <= params.local_date(trip.arrived_at) <= day:
            continue
        origin = resolve(trip.from_area)
        if origin is None:
            continue
        on = params.local_date(trip.departed_at or trip.arrived_at)
        matched = [r for r in risks if r.holds_on(on) and inside(origin, r.where)]
        if not matched:
            continue
        risk = min(matched, key=lambda r: (-LEVEL_ORDER[r.level], -r.where.depth, r.area))
        found = Arrival(trip.person_id, trip.from_area, risk.area, risk.level, trip.arrived_at, trip.trip_no,
                        trip.mode, trip.departed_at)
        held = latest.get(trip.person_id)
        if held is None or (found.arrived_at, _stricter(found)) > (held.arrived_at, _stricter(held)):
            latest[trip.person_id] = found
    return [latest[p] for p in sorted(latest)]


def _stricter(arrival: Arrival) -> int:
    return LEVEL_ORDER[arrival.level]

