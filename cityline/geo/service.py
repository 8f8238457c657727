"""Grids through a session: find an order's grid, import grids, set zone levels.

Never commits: the caller's use case owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityline.db import utcnow
from cityline.errors import Invalid, NotFound, RowError
from cityline.generations import Cached
from cityline.geo.divisions import DISTRICT, load_divisions
from cityline.geo.models import Grid
from cityline.geo.rules import (
    CompoundMatcher,
    parse_compounds,
    parse_polygon,
    point_in_polygon,
    polygon_area,
    zone_code,
)
from cityline.tabular import Row


@dataclass(frozen=True)
class GridPlace:
    """What intake needs of a grid: its place, responsible unit and zone level (and, to find
    it, its polygon and compounds). A copy, shared by requests: not the row."""

    code: str
    name: str
    district: str | None
    street: str | None
    unit_code: str | None
    zone_level: str | None
    polygon: list[Any] | None
    compounds: tuple[str, ...]
    area: float  # of its polygon (0 without one): coordinates inside several grids give the smallest


@dataclass(frozen=True)
class _Grids:
    grids: tuple[GridPlace, ...]
    by_code: dict[str, GridPlace]
    matcher: CompoundMatcher


def _load_grids(session: Session) -> _Grids:
    grids = tuple(GridPlace(g.code, g.name, g.district, g.street, g.unit_code, g.zone_level, g.polygon,
                            tuple(g.compounds or ()), polygon_area(g.polygon) if g.polygon else 0.0)
                  for g in session.scalars(select(Grid).order_by(Grid.code)))
    return _Grids(grids, {g.code: g for g in grids},
                  CompoundMatcher.build({g.code: g.compounds for g in grids}))


# Every create looks for its grid: the grids are read again only after a change (an import, a
# zone level set), in any process, not for every order.
_grids = Cached(_load_grids, "grids")


def grid_for(
    session: Session, *, lat: float | None = None, lon: float | None = None, text: str | None = None
) -> GridPlace | None:
    """The grid an order belongs to: by its coordinates, else by a compound its text names.

    Coordinates inside several grids give the smallest; a compound name known in
    several grids gives None (unknown rather than guess).
    """
    if (lat is None) != (lon is None):
        raise Invalid("give both lat and lon, or neither")
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise Invalid(f"lat {lat}, lon {lon} is not a position on Earth")
    known = _grids.get(session)
    if lat is not None and lon is not None:
        containing = [g for g in known.grids if g.polygon and point_in_polygon(lon, lat, g.polygon)]
        if containing:
            return min(containing, key=lambda g: g.area)
    if text:
        codes = known.matcher.grids_in(text)
        if len(codes) == 1:
            (code,) = codes
            return known.by_code[code]
    return None


@dataclass
class GridImport:
    """What an import did: grids created and updated, and the rows refused (with why)."""

    created: int = 0
    updated: int = 0
    bad: list[RowError] = field(default_factory=list)


_FIELDS = ("code", "name", "district", "street", "unit_code", "polygon", "compounds", "zone_level")


def import_grids(session: Session, rows: Iterable[Row]) -> GridImport:
    """Create or update grids (by code) from numbered rows (``cityline.tabular.read_rows``).

    Every row is checked first; a bad row is reported with its number and reason
    and the good rows are still imported. Polygons and compound lists may be JSON
    text (as in a CSV cell) or lists.
    """
    report = GridImport()
    good: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, row in rows:
        if isinstance(row, RowError):  # unreadable in the file
            report.bad.append(row)
            continue
        try:
            values = _grid_values(row)
            if values["code"] in seen:
                raise ValueError(f"code {values['code']!r} appears twice in this import")
        except ValueError as exc:
            report.bad.append(RowError(number, str(exc)))
            continue
        seen.add(values["code"])
        good.append(values)
    existing = {g.code: g for g in session.scalars(select(Grid).where(Grid.code.in_(seen)))}
    for values in good:
        grid = existing.get(values["code"])
        if grid is None:
            session.add(Grid(**values))
            report.created += 1
        else:
            for name, value in values.items():
                setattr(grid, name, value)
            report.updated += 1
    session.flush()
    return report


def _grid_values(row: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(row, Mapping):
        raise ValueError("row is not a mapping of column names to values")
    unknown = sorted(set(row) - set(_FIELDS))
    if unknown:
        raise ValueError(f"unknown columns {unknown}; expected some of {list(_FIELDS)}")
    text = {k: (str(row[k]).strip() if row.get(k) is not None else "") for k in _FIELDS[:5]}
    for required in ("code", "name"):
        if not text[required]:
            raise ValueError(f"{required} is empty")
    district, street = text["district"] or None, text["street"] or None
    _check_place(district, street)
    values: dict[str, Any] = {
        "code": text["code"],
        "name": text["name"],
        "district": district,
        "street": street,
        "unit_code": text["unit_code"] or None,
        "polygon": parse_polygon(row.get("polygon")),
        "compounds": parse_compounds(row.get("compounds")),
        "zone_level": zone_code(row.get("zone_level")),
    }
    if values["polygon"] is None and not values["compounds"]:
        raise ValueError("a grid needs a polygon or at least one compound")
    return values


def _check_place(district: str | None, street: str | None) -> None:
    """District and street must be official names, the street under the district."""
    if street and not district:
        raise ValueError(f"street {street!r} given without its district")
    if not district:
        return
    divisions = load_divisions()
    found = divisions.named(district, DISTRICT)
    if not found:
        raise ValueError(f"district {district!r} is not an official district name")
    if street and not any(s.name == street for d in found for s in divisions.children(d)):
        raise ValueError(f"street {street!r} is not a street or town of {district}")


def set_zone(session: Session, grid_code: str, level: str | None, *, now: datetime | None = None) -> Grid:
    """Put a grid under a zone level (sealed/封控, controlled/管控, precaution/防范) or lift it (None)."""
    grid = session.scalar(select(Grid).where(Grid.code == grid_code))
    if grid is None:
        raise NotFound(f"no grid with code {grid_code!r}")
    try:
        code = zone_code(level)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    if code != grid.zone_level:
        grid.zone_level = code
        grid.zone_changed_at = now or utcnow()
    session.flush()
    return grid
