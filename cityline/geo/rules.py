"""Pure rules for grids (网格) and zones: polygons, compound names, zone levels.

Values in, values out: no session, clock or network.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Zone levels of an epidemic-control area, English code → the name people use.
ZONE_LEVELS = {"sealed": "封控", "controlled": "管控", "precaution": "防范"}
_ZONE_CODES = {name: code for code, name in ZONE_LEVELS.items()}

Ring = list[list[float]]  # [[lon, lat], ...]


def zone_code(level: str | None) -> str | None:
    """The English code of a zone level given in English or Chinese; None clears the zone."""
    if level is None or (isinstance(level, str) and not level.strip()):
        return None
    cleaned = str(level).strip()
    if cleaned.lower() in ZONE_LEVELS:
        return cleaned.lower()
    if cleaned in _ZONE_CODES:
        return _ZONE_CODES[cleaned]
    known = ", ".join(f"{code} ({name})" for code, name in ZONE_LEVELS.items())
    raise ValueError(f"unknown zone level {level!r}; expected one of {known}")


def parse_polygon(value: object) -> list[Ring] | None:
    """A polygon as rings of [lon, lat] points, from a list or its JSON text.

    One ring, or several (holes and separate parts: a point is inside when it lies in
    an odd number of rings). Each ring needs at least three points; a repeated closing
    point is allowed. Raises ValueError saying what is wrong.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"polygon is not valid JSON: {exc.msg}") from None
    if not isinstance(value, list) or not value:
        raise ValueError("polygon must be a non-empty list of rings of [lon, lat] points")
    if all(_is_point(p) for p in value):  # a single ring given without the outer list
        value = [value]
    rings: list[Ring] = []
    for number, ring in enumerate(value, start=1):
        if not isinstance(ring, list) or not all(_is_point(p) for p in ring):
            raise ValueError(f"polygon ring {number} is not a list of [lon, lat] number pairs")
        points = [[float(p[0]), float(p[1])] for p in ring]
        for lon, lat in points:
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError(f"polygon ring {number}: point [{lon}, {lat}] is not a lon/lat")
        if len(points) > 1 and points[0] == points[-1]:
            points = points[:-1]
        if len(points) < 3:
            raise ValueError(f"polygon ring {number} has fewer than 3 distinct points")
        rings.append(points)
    return rings


def _is_point(value: object) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and all(math.isfinite(v) for v in value)
    )


def point_in_ring(lon: float, lat: float, ring: Ring) -> bool:
    """Ray casting: does a ray going east from the point cross the ring an odd number of times?"""
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > lat) != (yj > lat):
            crossing = xi + (lat - yi) * (xj - xi) / (yj - yi)
            if lon < crossing:
                inside = not inside
        j = i
    return inside


def point_in_polygon(lon: float, lat: float, polygon: list[Ring]) -> bool:
    """Inside when the point lies in an odd number of rings (holes cut out, parts added)."""
    return sum(point_in_ring(lon, lat, ring) for ring in polygon) % 2 == 1


def polygon_area(polygon: list[Ring]) -> float:
    """Rough area in square degrees (shoelace): enough to prefer the smaller of two grids."""
    total = 0.0
    for ring in polygon:
        total += abs(sum(
            x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True)
        )) / 2
    return total


def parse_compounds(value: object) -> list[str]:
    """Compound (小区) names from a list, JSON text, or text separated by ; ； 、 or newlines."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"compounds is not valid JSON: {exc.msg}") from None
        else:
            for separator in ("；", "、", "\n"):
                text = text.replace(separator, ";")
            value = text.split(";")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("compounds must be a list of names")
    names: list[str] = []
    for name in (v.strip() for v in value):
        if name and name not in names:
            names.append(name)
    return names


# Generic endings people leave off a compound's name: 阳光花园小区 → 阳光花园.
_COMPOUND_ENDINGS = ("小区", "社区", "公寓")


@dataclass
class CompoundMatcher:
    """All known compound names compiled into one longest-first matcher."""

    forms: dict[str, set[str]] = field(default_factory=dict)  # form → grid codes
    lengths: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, compounds_by_grid: Mapping[str, Iterable[str]]) -> CompoundMatcher:
        matcher = cls()
        for grid_code, names in compounds_by_grid.items():
            for name in names:
                for form in _compound_forms(name):
                    matcher.forms.setdefault(form, set()).add(grid_code)
        by_first: dict[str, set[int]] = {}
        for form in matcher.forms:
            by_first.setdefault(form[0], set()).add(len(form))
        matcher.lengths = {c: tuple(sorted(ls, reverse=True)) for c, ls in by_first.items()}
        return matcher

    def grids_in(self, text: str) -> set[str]:
        """Codes of the grids whose compounds the text names (longest name at each place)."""
        found: set[str] = set()
        i = 0
        while i < len(text):
            step = 1
            for length in self.lengths.get(text[i], ()):
                codes = self.forms.get(text[i : i + length])
                if codes:
                    found |= codes
                    step = length
                    break
            i += step
        return found


def _compound_forms(name: str) -> list[str]:
    forms = [name]
    for ending in _COMPOUND_ENDINGS:
        # keep at least three characters, so 新村小区 does not become a bare 新村
        if name.endswith(ending) and len(name) - len(ending) >= 3:
            forms.append(name[: -len(ending)])
    return forms
