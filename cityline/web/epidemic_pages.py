"""The pages of epidemic work: test coverage by place with the untested residents and their
Excel list, passes (issue, a pass on a phone, verify at a gate), and the day's zones that the
situation page shows.

Like the other pages, these read through the epidemic API's own handlers called in-process
as the visitor, so a page shows what the API answers that user: figures for everyone with
``epidemic:read``, people only with ``epidemic:persons`` and only those within the visitor's
reach (``ledger.person_scope``, applied by the API). Issuing goes from the page's script to
``POST /api/epidemic/passes/issue``; verifying happens when the verify page opens with a
code (the service audits every verification).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import segno
from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from openpyxl import Workbook
from pydantic import ValidationError

from cityline.accounts.service import audit
from cityline.cells import safe_row
from cityline.db import read_transaction, transaction, utcnow
from cityline.epidemic import api as epidemic_api
from cityline.epidemic import codes, schemas, service
from cityline.errors import NotFound
from cityline.limits import in_range
from cityline.timeutil import parse_when, to_local
from cityline.web.gate import denied, open_page
from cityline.web.render import render
from cityline.web.texts import translate
from cityline.web.visitor import Visitor

router = APIRouter(include_in_schema=False)
LEVELS = ("district", "street", "compound", "building")
STATUS_COLOURS = {"valid": "green", "expired": "yellow", "revoked": "red", "invalid": "red"}
ZONE_LEVELS = ("sealed", "controlled", "precaution")  # strictest first
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The untested list as the neighbourhood committee reads it (masked, as everywhere).
EXPORT_HEADER = ("区", "街道", "小区", "楼栋", "单元", "房号", "姓名", "电话", "网格", "状态")


# -- places and the drill-down (pure) --------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where the drill-down stands: nothing (the city), a district, … down to a building."""

    district: str | None = None
    street: str | None = None
    compound: str | None = None
    building: str | None = None

    @classmethod
    def of(cls, values: Mapping[str, str | None]) -> Place:
        """The levels given from the district down; a level after a missing one is ignored."""
        given: list[str] = []
        for level in LEVELS:
            value = (values.get(level) or "").strip()
            if not value:
                break
            given.append(value)
        return cls(*given)

    @property
    def levels(self) -> tuple[str, ...]:
        return tuple(v for v in (self.district, self.street, self.compound, self.building) if v)

    @property
    def depth(self) -> int:
        return len(self.levels)

    @property
    def name(self) -> str | None:
        return self.levels[-1] if self.levels else None

    def holds(self, row: Mapping[str, Any]) -> bool:
        return all(row.get(level) == value for level, value in zip(LEVELS, self.levels, strict=False))

    def down(self, name: str) -> Place:
        return Place(*self.levels, name)

    def trail(self) -> list[Place]:
        """The breadcrumb: the city, then each level down to this place."""
        return [Place(*self.levels[:n]) for n in range(self.depth + 1)]

    def query(self) -> dict[str, str]:
        return dict(zip(LEVELS, self.levels, strict=False))


@dataclass(frozen=True)
class Line:
    """One place of the drill-down's table; ``name`` None for residents without a building."""

    name: str | None
    present: int
    tested: int

    @property
    def coverage(self) -> float:
        return self.tested / self.present if self.present else 0.0


def lines_below(rows: list[Mapping[str, Any]], place: Place) -> tuple[Line, list[Line]]:
    """The place's total and the places one level below it, worst coverage first (then the
    most people, then by name), from the API's coverage rows (by building)."""
    inside = [r for r in rows if place.holds(r)]
    total = Line(place.name, sum(r["present"] for r in inside), sum(r["tested"] for r in inside))
    if place.depth == len(LEVELS):
        return total, []
    level = LEVELS[place.depth]
    sums: dict[str | None, list[int]] = {}
    for row in inside:
        counts = sums.setdefault(row[level], [0, 0])
        counts[0] += row["present"]
        counts[1] += row["tested"]
    lines = [Line(name, present, tested) for name, (present, tested) in sums.items()]
    lines.sort(key=lambda x: (x.coverage, -x.present, x.name is not None, x.name or ""))
    return total, lines


def day_or_none(text: str | None) -> date | None:
    """A date typed in a form (YYYY-MM-DD), or None when empty or not one cityline can show."""
    try:
        return in_range(date.fromisoformat(text)) if text else None
    except ValueError:
        return None


# -- reading through the API ----------------------------------------------------------------------


def _env(v: Visitor) -> service.Env:
    return epidemic_api.env_of(v.deps)  # the API's own: the app's fact store, else from settings


def default_dates(v: Visitor) -> tuple[date, date]:
    """The latest two days with tests, else yesterday and today."""
    today = to_local(utcnow()).date()
    latest = service.latest_test_day(_env(v), today) or today
    return latest - timedelta(days=1), latest


def untested_here(v: Visitor, since: date, until: date, place: Place) -> list[dict[str, Any]]:
    """The untested present residents of ``place`` the visitor may see, masked (the API
    narrows the list to the visitor's reach)."""
    ids = [p["person"] for p in epidemic_api.untested(v.deps, since, until) if place.holds(p)]
    with read_transaction(v.deps.sessions) as session:
        return [schemas.resident(r) for r in service.residents(session, ids)]


def holder(v: Visitor, person: str | None) -> dict[str, Any] | None:
    """The holder of a pass as the visitor may see them (masked), or None: a visitor not in
    the ledger, someone outside the visitor's reach, or a visitor without ``epidemic:persons``."""
    if not person or not v.can("epidemic:persons"):
        return None
    try:
        return epidemic_api.resident(person, v.deps)
    except NotFound:
        return None


def gate_holder(v: Visitor, person: str | None) -> dict[str, Any] | None:
    """Who holds a verified code, for the gate to compare with the person in front of it:
    the masked name and ID number only (the holder shows the code, so shows who they are)."""
    if not person:
        return None
    with read_transaction(v.deps.sessions) as session:
        found = service.residents(session, [person])
    return {"name": found[0].name_masked, "id_number": found[0].id_number_masked} if found else None


def verify_url(request: Request, code: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/epidemic/verify?code={quote(code)}"


def qr_svg(text: str) -> Markup:
    """The QR code of ``text`` as inline SVG (Markup: its path data are drawing, not numbers)."""
    return Markup(segno.make(text, error="m").svg_inline(border=4, omitsize=True, title="QR"))


# -- coverage ----------------------------------------------------------------------------------------


def _dates(v: Visitor, since: str | None, until: str | None) -> tuple[date, date, str | None]:
    """The dates asked for (one given: that day alone), else the defaults; with what was wrong
    with the dates asked for, if anything."""
    first, last = day_or_none(since), day_or_none(until)
    problem = None
    if (since and first is None) or (until and last is None):
        problem = "bad_date"
    elif first and last and first > last:
        problem = "dates_reversed"
    if problem or not (first or last):
        return *default_dates(v), problem
    return first or last, last or first, None


def _coverage(v: Visitor, first: date, last: date, place: Place, problem: str | None = None) -> dict[str, Any]:
    """What the coverage page shows of ``place`` from ``first`` to ``last``."""
    total, lines = lines_below(epidemic_api.coverage(v.deps, first, last), place)
    persons = v.can("epidemic:persons")
    dates = {"since": first.isoformat(), "until": last.isoformat()}

    def url(target: Place, path: str = "/epidemic/coverage") -> str:
        return f"{path}?{urlencode(dates | target.query())}"

    untested = untested_here(v, first, last, place) if persons and place.depth >= 3 else None
    # Untested people here whom the visitor may not see (outside their grids): counted, not named.
    hidden = total.present - total.tested - len(untested) if untested is not None else 0
    # Nobody here tested on these dates (a street between its screening rounds): the latest day
    # someone was, and its coverage a click away, rather than a page of noughts to puzzle over.
    earlier = earlier_url = None
    if total.present and not total.tested:
        with read_transaction(v.deps.sessions) as session:
            earlier = service.latest_tested_day(session, _env(v), place.query(), first - timedelta(days=1))
        if earlier:
            earlier_url = "/epidemic/coverage?" + urlencode(
                {"since": (earlier - timedelta(days=1)).isoformat(), "until": earlier.isoformat()} | place.query())
    return {"current": "coverage", "place": place, "total": total, "lines": lines, "earlier": earlier,
            "earlier_url": earlier_url,
            "level": LEVELS[place.depth] if place.depth < len(LEVELS) else None,
            "untested": untested, "hidden": hidden, "persons": persons, "problem": problem, "url": url, **dates,
            "can_export": persons and place.depth >= 2, "can_issue": v.can("epidemic:passes") and place.depth == len(LEVELS)}


def _place(district: str | None, street: str | None, compound: str | None, building: str | None) -> Place:
    return Place.of({"district": district, "street": street, "compound": compound, "building": building})


@router.get("/epidemic/coverage")
def coverage_page(request: Request, since: str | None = None, until: str | None = None,
                  district: str | None = None, street: str | None = None, compound: str | None = None,
                  building: str | None = None) -> Response:
    """Coverage by district → street → compound → building, worst first; the untested
    residents of a compound or building for those who may see people."""
    v = open_page(request, "coverage")
    if isinstance(v, Response):
        return v
    first, last, problem = _dates(v, since, until)
    place = _place(district, street, compound, building)
    if not place.levels and len(v.deps.principal.places) == 1:
        # A street's grid worker or handler starts at their own street (or district), not the city.
        [(home_district, home_street)] = v.deps.principal.places
        place = _place(home_district, home_street, None, None)
    return render(request, v, "epidemic_coverage.html", **_coverage(v, first, last, place, problem))


@router.get("/epidemic/coverage/untested.xlsx")
def untested_export(request: Request, since: str | None = None, until: str | None = None,
                    district: str | None = None, street: str | None = None, compound: str | None = None,
                    building: str | None = None) -> Response:
    """The untested residents of a street, compound or building as .xlsx for the neighbourhood
    committee: masked, a Chinese header, no cell a spreadsheet would run as a formula; audited
    like the orders' export."""
    v = open_page(request, "coverage")
    if isinstance(v, Response):
        return v
    if not v.can("epidemic:persons"):
        v.audit_denial("page:coverage/untested.xlsx")
        return denied(request, v)
    first, last, problem = _dates(v, since, until)
    place = _place(district, street, compound, building)
    if problem or place.depth < 2:
        return render(request, v, "epidemic_coverage.html", status=422,
                      **_coverage(v, first, last, place, problem or "export_place"))
    people = untested_here(v, first, last, place)
    book = Workbook()
    sheet = book.active
    sheet.title = "未检测"
    sheet.append(EXPORT_HEADER)
    for p in people:
        sheet.append(safe_row((p["district"], p["street"], p["compound"], p["building"], p["unit"], p["room"],
                               p["name"], p["phone"], p["grid"], translate("zh", f"resident_status.{p['status']}"))))
    out = io.BytesIO()
    book.save(out)
    with transaction(v.deps.sessions) as session:
        audit(session, v.name, "export", "epidemic:untested", rows=len(people), since=first.isoformat(),
              until=last.isoformat(), place="/".join(place.levels))
    name = f"untested-{first.isoformat()}-{last.isoformat()}.xlsx"
    label = quote(f"未检测名单-{'-'.join(place.levels)}-{first.isoformat()}-{last.isoformat()}.xlsx")
    return Response(out.getvalue(), media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{label}"})


# -- passes --------------------------------------------------------------------------------------------


@router.get("/epidemic/passes")
def passes_page(request: Request, person: str | None = None, district: str | None = None,
                street: str | None = None, compound: str | None = None, building: str | None = None) -> Response:
    """Issue a pass for a person, or for everyone in a building (the results listed in place)."""
    v = open_page(request, "passes")
    if isinstance(v, Response):
        return v
    place = Place.of({"district": district, "street": street, "compound": compound, "building": building})
    return render(request, v, "epidemic_passes.html", current="passes", person=person or "", place=place)


@router.get("/epidemic/passes/{code}")
def pass_page(request: Request, code: str) -> Response:
    """One pass as its holder shows it on a phone: the QR code of the verify page's address with
    the code, the holder masked, valid until; marked when the pass is known to be revoked.
    Whether it holds at the gate is for the verify page to say."""
    v = open_page(request, "passes")
    if isinstance(v, Response):
        return v
    claims = codes.read(_env(v).pass_key, code)
    with read_transaction(v.deps.sessions) as session:
        row = service.stored_pass(session, claims) if claims else None
        revoked = (row.revoked_reason or "revoked") if row is not None and row.revoked_at else None
    if row is None:  # changed, made up, or signed elsewhere
        return render(request, v, "epidemic_pass.html", status=404, current="passes", claims=None, code=code,
                      holder=None, qr=None, verify_url=None, revoked=None)
    target = verify_url(request, code)
    return render(request, v, "epidemic_pass.html", current="passes", claims=claims, code=code,
                  holder=holder(v, claims.person), qr=qr_svg(target), verify_url=target, revoked=revoked)


@router.get("/epidemic/verify")
def verify_page(request: Request, code: str | None = None) -> Response:
    """A gate worker's check: opened from the QR code (the code in the address) or with a code
    typed in. valid (green) / expired (yellow) / revoked or invalid (red)."""
    v = open_page(request, "verify")
    if isinstance(v, Response):
        return v
    code = (code or "").strip()
    if not code:
        return render(request, v, "epidemic_verify.html", current="verify", code="", result=None, holder=None,
                      colour=None)
    try:
        asked = schemas.PassVerify(code=code)
    except ValidationError:  # longer than any code, or a NUL: not a code at all, nothing to check
        found: dict[str, Any] = {"status": "invalid", "person": None, "valid_until": None, "reason": None}
    else:
        found = epidemic_api.verify_pass(asked, v.deps)
    valid_until = parse_when(found["valid_until"]) if found["valid_until"] else None
    return render(request, v, "epidemic_verify.html", current="verify", code=code, result=found,
                  valid_until=valid_until, holder=gate_holder(v, found["person"]),
                  colour=STATUS_COLOURS[found["status"]])


# -- zones on the situation page -------------------------------------------------------------------------


def zones_of(v: Visitor, day: date) -> dict[str, Any] | None:
    """The day's zones for the situation page (None for a visitor without ``epidemic:read``):
    strictest first, with counts by level and a link to the coverage of each place."""
    if not v.can("epidemic:read"):
        return None
    found = epidemic_api.zones(v.deps, day)
    found.sort(key=lambda z: (ZONE_LEVELS.index(z["level"]), -z["population"], z["district"], z["street"],
                              z["compound"] or "", z["building"] or ""))
    dates = {"since": (day - timedelta(days=1)).isoformat(), "until": day.isoformat()}
    for zone in found:
        zone["coverage_url"] = f"/epidemic/coverage?{urlencode(dates | Place.of(zone).query())}"
    counts = {level: sum(1 for z in found if z["level"] == level) for level in ZONE_LEVELS}
    people = {level: sum(z["population"] for z in found if z["level"] == level) for level in ZONE_LEVELS}
    return {"zones": found, "counts": counts, "people": people}
