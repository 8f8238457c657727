"""The published zone a new order's place lies in: the lookup intake asks for every order
it creates (plugged in by the composition roots, ``intake.service.use_zone_lookup``).

An order's place is its district and street (as intake read them) and the words of its
address and text: a compound of a published zone on that street is named when one of
its names appears (阳光花园小区 also as 阳光花园) and is not the start of a longer name
(another compound of the street, or more digits), a building when the compound is
followed by it or its number (1号楼, 1栋, 1幢, 1号). Only sealed and controlled zones
mark an order.

The create path stays cheap: the zones of a day are read once and kept in memory per
database, by street, until zones are published again (``service.save_zones`` replaces the
day's rows, which advances the "zones" generation, ``cityline.generations``), in this
process or another.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityline.epidemic.kinds import ZONE_ORDER
from cityline.epidemic.models import Zone
from cityline.generations import Cached
from cityline.intake.service import OrderPlace, ZoneMark

MARKING = ("sealed", "controlled")
_ENDINGS = ("小区", "社区", "公寓", "新村")
_BUILDING_WORDS = r"(?:号楼|号|栋|幢|楼)"


@dataclass(frozen=True)
class Published:
    id: int
    level: str
    district: str
    street: str
    compound: str | None
    building: str | None

    @property
    def name(self) -> str:
        return "".join(filter(None, (self.district, self.street, self.compound, self.building)))


Street = tuple[str, str]  # district, street


def _no_days_yet(_session: Session) -> dict[date, dict[Street, tuple[Published, ...]]]:
    return {}  # each day's zones are read when an order first asks for them (see published)


# Per database: the days read so far, all forgotten when a publication (here or in another
# process) advances the "zones" generation.
_days = Cached(_no_days_yet, "zones")


def published(session: Session, day: date) -> dict[Street, tuple[Published, ...]]:
    """The sealed and controlled zones published for ``day``, by street. Kept in memory per
    database and day until zones are published again, here or in another process."""
    days = _days.get(session)
    held = days.get(day)
    if held is not None:
        return held
    found: dict[Street, list[Published]] = {}
    for row in session.execute(select(Zone.id, Zone.level, Zone.district, Zone.street, Zone.compound, Zone.building)
                               .where(Zone.day == day, Zone.level.in_(MARKING)).order_by(Zone.id)):
        found.setdefault((row.district, row.street), []).append(Published(*row))
    by_street = {street: tuple(zones) for street, zones in found.items()}
    days[day] = by_street  # two first readers of a day store the same
    return by_street


def compound_ends(words: str, compound: str, others: Iterable[str] = ()) -> list[int]:
    """Where each mention of the compound in ``words`` ends. A mention that is the start of a
    longer name (another compound of the street, or more digits: 小区1 in 小区15) is not one."""
    forms = [compound] + [compound[: -len(e)] for e in _ENDINGS if compound.endswith(e) and len(compound) - len(e) >= 2]
    longer = [*others, *forms]  # 月亮 inside 月亮小区 is the full name's mention, found as such
    ends = set()
    for form in forms:
        for found in re.finditer(re.escape(form), words):
            start, end = found.span()
            if form[-1].isdigit() and words[end:end + 1].isdigit():
                continue
            if any(len(o) > len(form) and words.startswith(o, start) for o in longer):
                continue
            ends.add(end)
    return sorted(ends)


def building_follows(rest: str, building: str) -> bool:
    """Whether ``rest`` (the words after the compound) begins with the building: as written, or
    its number followed by 号楼, 号, 栋, 幢 or 楼."""
    rest = rest.lstrip(" ，,的")
    number = re.search(r"\d+", building)
    return rest.startswith(building) or bool(number and re.match(rf"{number.group()}(?!\d)\s*{_BUILDING_WORDS}", rest))


def zone_of(session: Session, place: OrderPlace) -> ZoneMark | None:
    """The strictest published zone (then the smallest) that the order's place lies in."""
    zones = published(session, place.day).get((place.district or "", place.street or ""), ())
    compounds = {z.compound for z in zones if z.compound}
    ends = {c: found for c in compounds if (found := compound_ends(place.words, c, compounds))}
    holding = [z for z in zones if z.compound in ends and (
        z.building is None or any(building_follows(place.words[end:], z.building) for end in ends[z.compound]))]
    if not holding:
        return None
    best = max(holding, key=lambda z: (ZONE_ORDER[z.level], z.building is not None, -z.id))
    return ZoneMark(best.level, f"epidemic_zone:{best.id}", best.name)
