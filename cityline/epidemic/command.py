"""The commander's day (指挥): zones, cases, arrivals and test coverage of one local date, put
together by district (for the map) and by street (for coverage), and the hour chain of the
tracing orders (on time / late / to do per milestone), figures only.

``day_view`` reads through the same services the other pages use (zones, arrivals, coverage),
so the map never tells a different story from the lists; ``by_district`` and ``by_street`` are
the pure sums over what they return. No person is named here: a district's row counts people.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityline.epidemic import ledger, service
from cityline.epidemic.models import Case
from cityline.epidemic.places import Arrival, ZoneRow
from cityline.epidemic.rules import CoverageRow, Person
from cityline.orders.queries import OrderFilter, milestone_standing

LEVELS = ("sealed", "controlled", "precaution")
UNPLACED = ""  # a case or an arrival of someone not in the ledger: no district to put them in


def by_district(zones: Iterable[ZoneRow], cases: Iterable[tuple[str, bool]],
                arrivals: Iterable[str], coverage: Iterable[CoverageRow]) -> list[dict[str, Any]]:
    """One row per district that has anything: zones and their people by level, cases in the
    window (``new`` = reported on the day itself), arrivals from risk areas, and coverage.

    ``cases`` are (district, reported on the day); ``arrivals`` the districts of the people
    who arrived (``UNPLACED`` for those not in the ledger, kept as their own row)."""
    rows: dict[str, dict[str, Any]] = {}

    def row(district: str) -> dict[str, Any]:
        return rows.setdefault(district, {
            "district": district, "cases": 0, "new_cases": 0, "arrivals": 0, "present": 0, "tested": 0,
            **{f"{level}_zones": 0 for level in LEVELS}, **{f"{level}_people": 0 for level in LEVELS}})

    for zone in zones:
        r = row(zone.district)
        r[f"{zone.level}_zones"] += 1
        r[f"{zone.level}_people"] += zone.population
    for district, new in cases:
        r = row(district)
        r["cases"] += 1
        r["new_cases"] += int(new)
    for district in arrivals:
        row(district)["arrivals"] += 1
    for line in coverage:
        r = row(line.district)
        r["present"] += line.present
        r["tested"] += line.tested
    for r in rows.values():
        r["coverage"] = r["tested"] / r["present"] if r["present"] else None
    return sorted(rows.values(), key=lambda r: (r["district"] == UNPLACED, -r["cases"], r["district"]))


def by_street(coverage: Iterable[CoverageRow], limit: int = 30) -> list[dict[str, Any]]:
    """Coverage by street, the lowest first (where the next round of testing should go)."""
    sums: dict[tuple[str, str], list[int]] = {}
    for line in coverage:
        present_tested = sums.setdefault((line.district, line.street), [0, 0])
        present_tested[0] += line.present
        present_tested[1] += line.tested
    rows = [{"district": d, "street": s, "present": p, "tested": t, "coverage": t / p}
            for (d, s), (p, t) in sums.items() if p]
    return sorted(rows, key=lambda r: (r["coverage"], -r["present"], r["district"], r["street"]))[:limit]


def _districts(homes: Mapping[str, Person], persons: Iterable[str]) -> list[str]:
    return [homes[p].district if p in homes else UNPLACED for p in persons]


def day_view(session: Session, env: service.Env, day: date, now: datetime,
             reach: OrderFilter | None = None) -> dict[str, Any]:
    """Everything the commander's page draws for ``day``: zones, cases of the zones' window
    (D−13..D), arrivals, coverage of D−1..D (a screening round usually spans two days), and the
    milestones of the tracing orders received in the same window (within ``reach``), judged
    at the end of the day — or now, for today."""
    params = env.params
    first = day - timedelta(days=params.zone_days)
    start, end = params.day_start(first), params.day_start(day + timedelta(days=1))
    reported = session.execute(select(Case.person_id, Case.reported_at)
                               .where(Case.reported_at >= start, Case.reported_at < end)).all()
    arrivals: list[Arrival] = service.risk_arrivals(session, env, day)
    homes = {p.person_id: p for p in ledger.people(session, {r.person_id for r in reported}
                                                   | {a.person for a in arrivals})}
    today = params.day_start(day)
    cases = [(homes[r.person_id].district if r.person_id in homes else UNPLACED, r.reported_at >= today)
             for r in reported]
    zones = service.compute_zones(session, env, day)
    coverage = service.coverage(session, env, day - timedelta(days=1), day).rows
    districts = by_district(zones, cases, _districts(homes, (a.person for a in arrivals)), coverage)
    levels = Counter(z.level for z in zones)
    chain = milestone_standing(session, min(now, end), reach, received_from=start, received_before=end)
    return {
        "day": day.isoformat(),
        "totals": {"cases": len(cases), "new_cases": sum(new for _, new in cases), "arrivals": len(arrivals),
                   **{f"{level}_zones": levels[level] for level in LEVELS},
                   "sealed_people": sum(z.population for z in zones if z.level == "sealed")},
        "districts": districts,
        "streets": by_street(coverage),
        "coverage_since": (day - timedelta(days=1)).isoformat(),
        "milestones": chain,
    }
