"""The epidemic rules of formats.md §7, as a small reference implementation.

Pure: values (and the moment ``at``) in, values out; no session, clock, file or
network. ``queries.py`` runs the same rules as DuckDB SQL over millions of rows,
and the tests check that the two agree. Boundaries, decided once:

- a pass needs a negative sample *strictly after* ``at − 48 h``: sampled 47:59
  before ``at`` is enough, exactly 48:00 before is not; the pass is valid while
  ``at < sampled + 48 h`` (so at 48:00 it is ``expired``), the same instant;
- intervals (visits, windows) include their start and exclude their end, except
  that a case's trip "inside the exposure window" may fall on either end;
- a local date is the date in the hotline's time zone (``Params.timezone``).

Close contacts are in ``contacts.py``, zones and arrivals in ``places.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

RESULTS_WITH_OUTCOME = ("negative", "positive")


@dataclass(frozen=True)
class Params:
    """Every parameter of the rules, with the defaults of §7 (settings may change each)."""

    exposure: timedelta = timedelta(hours=48)
    visit: timedelta = timedelta(minutes=60)
    overlap: timedelta = timedelta(minutes=15)
    seat_rows: int = 2
    contact_days: int = 14
    zone_days: int = 13
    arrival_days: int = 13
    pass_test: timedelta = timedelta(hours=48)
    pass_valid: timedelta = timedelta(hours=48)
    timezone: str = "Asia/Shanghai"
    query_memory_mb: int = 2048  # not a rule: what each DuckDB query over the facts may hold in memory
    engine: str = "duckdb"  # not a rule: where coverage, contacts and arrivals run (duckdb or spark)

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.zone)


# -- the values the rules take ------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A resident as the rules see them (no personal data)."""

    person_id: str
    district: str
    street: str
    compound: str
    building: str | None = None
    unit: str | None = None
    room: str | None = None
    household_id: str | None = None
    grid: str | None = None
    status: str = "present"

    @property
    def household(self) -> str | None:
        return household_key(self.household_id, self.district, self.street, self.compound, self.building,
                             self.unit, self.room)

    @property
    def place(self) -> tuple[str, str, str, str | None]:
        return (self.district, self.street, self.compound, self.building)


@dataclass(frozen=True)
class Test:
    __test__ = False  # a sample, not a pytest class

    person_id: str
    sampled_at: datetime
    result: str  # negative | positive | pending
    kind: str = "pcr"


@dataclass(frozen=True)
class Scan:
    person_id: str
    venue_code: str
    scanned_at: datetime
    left_at: datetime | None = None
    venue_kind: str = "other"
    venue_name: str | None = None


@dataclass(frozen=True)
class Trip:
    person_id: str
    mode: str
    arrived_at: datetime
    from_area: str
    trip_no: str | None = None
    departed_at: datetime | None = None
    carriage: str | None = None
    seat: str | None = None

    @property
    def moment(self) -> datetime:
        """The trip's time for contacts: departure, or arrival when departure is unknown."""
        return self.departed_at or self.arrived_at


@dataclass(frozen=True)
class CaseRecord:
    person_id: str
    reported_at: datetime
    onset_at: datetime | None = None
    sampled_at: datetime | None = None


@dataclass(frozen=True)
class Visit:
    person_id: str
    venue_code: str
    venue_kind: str
    start: datetime
    end: datetime
    venue_name: str | None = None


@dataclass(frozen=True)
class Contact:
    case: str
    person: str
    tier: int
    relation: str  # household | meal | workplace | venue | trip
    via: str | None = None
    overlap_minutes: int | None = None
    evidence: str = ""


def household_key(household_id: str | None, district: str, street: str, compound: str, building: str | None,
                  unit: str | None, room: str | None) -> str | None:
    """The household: the given code; else the full address down to the room, when the room is
    given; else none (a person alone)."""
    if household_id:
        return f"id:{household_id}"
    if room:
        return "at:" + "|".join((district, street, compound, building or "", unit or "", room))
    return None


# -- windows and visits -----------------------------------------------------------------------


def exposure_window(case: CaseRecord, params: Params) -> tuple[datetime, datetime]:
    """From T0 − 48 h to the report, T0 being the earlier of onset and sample (or the report)."""
    known = [t for t in (case.onset_at, case.sampled_at) if t is not None]
    first = min(known) if known else case.reported_at
    return first - params.exposure, case.reported_at


def visits(scans: Iterable[Scan], params: Params) -> list[Visit]:
    """Each scan as a visit [scanned_at, end): ``left_at`` when given; else the earliest of
    scanned_at + 60 min, the same person's next (strictly later) scan anywhere, and the
    end of that local day."""
    by_person: dict[str, list[Scan]] = {}
    for scan in scans:
        by_person.setdefault(scan.person_id, []).append(scan)
    found: list[Visit] = []
    for person_scans in by_person.values():
        person_scans.sort(key=lambda s: s.scanned_at)
        moments = [s.scanned_at for s in person_scans]
        for i, scan in enumerate(person_scans):
            if scan.left_at is not None:
                end = scan.left_at
            else:
                later = next((m for m in moments[i + 1:] if m > scan.scanned_at), None)
                day_end = params.day_start(params.local_date(scan.scanned_at) + timedelta(days=1))
                end = min(m for m in (scan.scanned_at + params.visit, later, day_end) if m is not None)
            found.append(Visit(scan.person_id, scan.venue_code, scan.venue_kind, scan.scanned_at, end,
                               scan.venue_name))
    return found


def overlap(*spans: tuple[datetime, datetime]) -> timedelta:
    """How long all the spans [start, end) share (zero when they do not meet)."""
    start, end = max(s for s, _ in spans), min(e for _, e in spans)
    return max(end - start, timedelta(0))


# -- passes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PassDecision:
    person: str
    issued: bool
    sampled_at: datetime | None = None  # the negative test the pass rests on
    valid_until: datetime | None = None
    reason: str | None = None  # case | positive | contact | no_result | test_too_old
    detail: str | None = None


def decide_pass(person: str, tests: Iterable[Test], *, case_reported_at: datetime | None,
                contact_of: Iterable[str] = (), at: datetime, params: Params) -> PassDecision:
    """Whether ``person`` gets a pass at ``at``, judged on what is known then (tests sampled at or
    before ``at``, a case reported at or before ``at``); ``contact_of`` are the cases reported
    within 14 days up to ``at`` of which the person is a tier-1 contact. Ledger status plays
    no part."""
    known = [t for t in tests if t.person_id == person and t.sampled_at <= at]
    if case_reported_at is not None and case_reported_at <= at:
        return PassDecision(person, False, reason="case", detail=f"reported as a case at {_iso(case_reported_at, params)}")
    positive = [t.sampled_at for t in known if t.result == "positive"]
    if positive:
        return PassDecision(person, False, reason="positive", detail=f"tested positive, sampled {_iso(min(positive), params)}")
    cases = sorted(set(contact_of))
    if cases:
        return PassDecision(person, False, reason="contact", detail=f"tier-1 contact of {', '.join(cases)}")
    outcomes = [t for t in known if t.result in RESULTS_WITH_OUTCOME]
    if not outcomes:
        return PassDecision(person, False, reason="no_result", detail="no test with a result")
    latest = max(outcomes, key=lambda t: t.sampled_at)
    if latest.sampled_at <= at - params.pass_test:
        return PassDecision(person, False, reason="test_too_old",
                            detail=f"latest negative sampled {_iso(latest.sampled_at, params)}, not after "
                                   f"{_iso(at - params.pass_test, params)}")
    return PassDecision(person, True, latest.sampled_at, latest.sampled_at + params.pass_valid)


def pass_status(valid_until: datetime, at: datetime, *, revoked: bool) -> str:
    """``revoked`` (a positive or a case arrived for the holder) beats ``expired`` (``at`` is at or
    past ``valid_until``); otherwise ``valid``."""
    if revoked:
        return "revoked"
    return "expired" if at >= valid_until else "valid"


def revokes(tests: Iterable[Test], case_reported_at: datetime | None, person: str, at: datetime) -> str | None:
    """Why a pass of ``person`` no longer stands at ``at`` (a positive sampled, or a case
    reported, at or before ``at``), or None."""
    if case_reported_at is not None and case_reported_at <= at:
        return "case"
    if any(t.person_id == person and t.result == "positive" and t.sampled_at <= at for t in tests):
        return "positive"
    return None


def contact_cases(cases: Iterable[CaseRecord], at: datetime, params: Params) -> list[CaseRecord]:
    """The cases whose tier-1 contacts get no pass at ``at``: reported within the 14 days up to it."""
    return [c for c in cases if at - timedelta(days=params.contact_days) < c.reported_at <= at]


# -- coverage ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageRow:
    district: str
    street: str
    compound: str
    building: str | None
    present: int
    tested: int

    @property
    def coverage(self) -> float:
        return self.tested / self.present if self.present else 0.0


@dataclass
class Coverage:
    rows: list[CoverageRow] = field(default_factory=list)
    untested: list[Person] = field(default_factory=list)


def place_order(place: tuple[str | None, ...]) -> tuple:
    """Places sorted with an empty level first (as SQL's NULLS FIRST)."""
    return tuple((value is not None, value or "") for value in place)


def coverage(residents: Iterable[Person], tests: Iterable[Test], since: date, until: date,
             params: Params) -> Coverage:
    """Among present residents, who has a test (any kind, any result) sampled on a local date
    from ``since`` to ``until``, by district, street, compound and building."""
    tested = {t.person_id for t in tests if since <= params.local_date(t.sampled_at) <= until}
    groups: dict[tuple, list[int]] = {}
    result = Coverage()
    for person in residents:
        if person.status != "present":
            continue
        counts = groups.setdefault(person.place, [0, 0])
        counts[0] += 1
        if person.person_id in tested:
            counts[1] += 1
        else:
            result.untested.append(person)
    result.rows = [CoverageRow(*place, present, done) for place, (present, done)
                   in sorted(groups.items(), key=lambda item: place_order(item[0]))]
    result.untested.sort(key=lambda p: (place_order(p.place), p.person_id))
    return result


def _iso(moment: datetime, params: Params) -> str:
    return moment.astimezone(params.zone).isoformat()
