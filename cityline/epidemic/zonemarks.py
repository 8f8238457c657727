"""The published zone a new order's place lies in: the lookup intake asks for every order
it creates (plugged in by the composition roots, ``intake.service.use_zone_lookup``).

An order's place is its district and street (as intake read them) and the words of its
address and text: a compound of a published zone on that street is named when one of
its names appears (阳光花园小区 also as 阳光花园), a building when the compound is followed by
its number (1号楼, 1栋, 1幢, 1号). Only sealed and controlled zones mark an order.

The create path stays cheap: the zones of a day are read once and kept in memory per
database, dropped when zones are published (``forget``, called by ``service.save_zones``)
and otherwise kept at most ``TTL_SECONDS``, so zones another process published are seen
within that time.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import date
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityline.epidemic.kinds import ZONE_ORDER
from cityline.epidemic.models import Zone
from cityline.intake.service import OrderPlace, ZoneMark

TTL_SECONDS = 60.0
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


_lock = threading.Lock()
_days: WeakKeyDictionary[object, dict[date, tuple[float, tuple[Published, ...]]]] = WeakKeyDictionary()


def published(session: Session, day: date) -> tuple[Published, ...]:
    """The sealed and controlled zones published for ``day`` (kept in memory, see above)."""
    engine = session.get_bind()
    with _lock:
        held = _days.get(engine, {}).get(day)
    if held and time.monotonic() - held[0] < TTL_SECONDS:
        return held[1]
    found = tuple(Published(*row) for row in session.execute(
        select(Zone.id, Zone.level, Zone.district, Zone.street, Zone.compound, Zone.building)
        .where(Zone.day == day, Zone.level.in_(MARKING)).order_by(Zone.id)))
    with _lock:
        _days.setdefault(engine, {})[day] = (time.monotonic(), found)
    return found


def forget(session: Session) -> None:
    """Drop what is kept for this database (zones were just published)."""
    with _lock:
        _days.pop(session.get_bind(), None)


def names_place(words: str, compound: str, building: str | None) -> bool:
    """Whether ``words`` name the compound (and, when given, the building in it)."""
    forms = [compound] + [compound[: -len(e)] for e in _ENDINGS if compound.endswith(e) and len(compound) - len(e) >= 2]
    for form in forms:
        for found in re.finditer(re.escape(form), words):
            if building is None:
                return True
            after = words[found.end():].lstrip(" ，,")
            number = re.search(r"\d+", building)
            if after.startswith(building) or (
                    number and re.match(rf"{number.group()}(?!\d)\s*{_BUILDING_WORDS}", after)):
                return True
    return False


def zone_of(session: Session, place: OrderPlace) -> ZoneMark | None:
    """The strictest published zone (then the smallest) that the order's place lies in."""
    holding = [z for z in published(session, place.day)
               if z.district == place.district and z.street == place.street and z.compound
               and names_place(place.words, z.compound, z.building)]
    if not holding:
        return None
    best = max(holding, key=lambda z: (ZONE_ORDER[z.level], z.building is not None, -z.id))
    return ZoneMark(best.level, f"epidemic_zone:{best.id}", best.name)
