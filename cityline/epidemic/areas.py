"""Administrative names → province, city, district, street, by the project's division data.

Strict where ``geo.address`` is forgiving: a risk area and a trip's origin are
names of divisions written from the top down (``湖北省武汉市江汉区民族街道``,
``武汉市江汉区``, ``长春市南关区``), not free text. Reading one:

- from the left, the longest official name or alias of a division below the one
  read so far (any depth: a province may be followed by a district); the first
  piece may be any division;
- a higher level the text leaves out is implied by the division that was named
  (``长春市南关区`` is in 吉林省; a municipality is its own province and city);
- a last piece that the data does not know but that is written like a street or
  town (ends in 街道, 镇, 乡, …) is kept as the street, by name (the data lack some
  streets, e.g. 武汉市江汉区民族街道); anything below the street (a compound) is
  kept as ``rest``;
- a name that reads two ways (``朝阳区``: Beijing's or Changchun's) or not at all
  resolves to nothing: unknown rather than guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from cityline.geo.divisions import CITY, DISTRICT, PROVINCE, STREET, Division, load_divisions

LEVELS = ("province", "city", "district", "street", "rest")
_STREET_LIKE = ("街道", "镇", "乡", "地区办事处", "苏木", "民族乡", "街道办事处", "街办")
_SPACES = re.compile(r"[\s\u3000·]+")


@dataclass(frozen=True)
class Area:
    """Where a name points, level by level (None: the name does not say)."""

    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    rest: str | None = None

    def levels(self) -> tuple[str | None, ...]:
        return (self.province, self.city, self.district, self.street, self.rest)

    @property
    def depth(self) -> int:
        """How many levels the name fixes (a deeper area is more specific)."""
        return sum(value is not None for value in self.levels())


def inside(trip: Area, risk: Area) -> bool:
    """Every level the risk area names equals the trip's."""
    return all(r is None or r == t for r, t in zip(risk.levels(), trip.levels(), strict=True))


@lru_cache(maxsize=1)
def _names() -> dict[str, list[Division]]:
    found: dict[str, list[Division]] = {}
    for division in load_divisions():
        for name in {division.name, *division.aliases}:
            if len(name) >= 2:
                found.setdefault(name, []).append(division)
    return found


@lru_cache(maxsize=1)
def _longest() -> int:
    return max(len(name) for name in _names())


def _below(division: Division, parent: Division | None) -> bool:
    if parent is None:
        return True
    divisions = load_divisions()
    return any(a.key == parent.key for a in divisions.ancestors(division))


def _candidates(name: str) -> list[Division]:
    """Divisions called ``name``; a municipality's province gives way to its city (same name)."""
    found = _names().get(name, [])
    return [d for d in found if not any(o is not d and _below(o, d) for o in found)]


def _parses(text: str, parent: Division | None) -> list[tuple[Division | None, str | None, str | None]]:
    """Every way to read ``text`` below ``parent``: (deepest division, unknown street, rest)."""
    if not text:
        return [(parent, None, None)]
    found = []
    for length in range(min(len(text), _longest()), 1, -1):
        for division in _candidates(text[:length]):
            if division is not parent and _below(division, parent):
                found += _parses(text[length:], division)
        if found:
            break  # the longest name that leads to a reading wins
    if found or parent is None:
        return found
    return _unknown_tail(text, parent)


def _unknown_tail(text: str, parent: Division) -> list[tuple[Division | None, str | None, str | None]]:
    """A street the data do not know (by how it is written), and whatever follows it."""
    if parent.level == STREET:
        return [(parent, None, text)]
    if parent.level not in (DISTRICT, CITY):
        return []
    for end in range(len(text), 1, -1):
        if text[:end].endswith(_STREET_LIKE):
            return [(parent, text[:end], text[end:] or None)]
    return []


def _area(division: Division | None, street: str | None, rest: str | None) -> Area:
    levels: dict[str, str] = {}
    chain = [division, *load_divisions().ancestors(division)] if division else []
    for item in chain:
        levels.setdefault(item.level, item.name)
    return Area(levels.get(PROVINCE), levels.get(CITY), levels.get(DISTRICT), street or levels.get(STREET), rest)


@lru_cache(maxsize=65536)
def resolve(name: str) -> Area | None:
    """The area a name points at, or None when it reads no way or two ways (see the module doc)."""
    text = _SPACES.sub("", name or "")
    if not text:
        return None
    readings = {_area(*reading) for reading in _parses(text, None)}
    if len(readings) != 1:
        return None
    (area,) = readings
    if area.province is None and area.city is None and area.district is None:
        return None
    return area
