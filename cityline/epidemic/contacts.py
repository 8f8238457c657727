"""Close contacts of a case (formats.md §7): household, shared venues, shared trips (tier 1),
and the households of tier-1 contacts (tier 2). Pure, like ``rules.py``: the reference that
``queries.venue_contacts`` and ``queries.trip_contacts`` (set-based SQL for many cases over
millions of scans) are held to by the tests; ``tracing.py`` runs the household rule here and
the SQL for venues and trips.

Any person counts (whatever their ledger status, visitors and other cases included),
except for ``household``, which counts present residents only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from cityline.epidemic.rules import (
    CaseRecord,
    Contact,
    Params,
    Person,
    Trip,
    Visit,
    exposure_window,
    overlap,
)

VENUE_RELATIONS = {"restaurant": "meal", "workplace": "workplace"}


def seat_row(seat: str | None) -> int | None:
    """The row of a seat: the first number in it (``12F`` → 12)."""
    found = re.search(r"\d+", seat or "")
    return int(found.group()) if found else None


def _same_carriage(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return True  # a side without a carriage: the condition does not apply
    a, b = a.strip().upper(), b.strip().upper()
    return int(a) == int(b) if a.isdigit() and b.isdigit() else a == b


def _trip_no(trip: Trip) -> str:
    return (trip.trip_no or "").strip().upper()


def household_contacts(case: CaseRecord, residents: Iterable[Person]) -> list[Contact]:
    """Present residents of the case's household (the case's own ledger record gives it)."""
    residents = list(residents)
    own = next((p for p in residents if p.person_id == case.person_id), None)
    if own is None or own.household is None:
        return []
    return [Contact(case.person_id, p.person_id, 1, "household", evidence="same household")
            for p in residents
            if p.household == own.household and p.person_id != case.person_id and p.status == "present"]


def venue_contacts(case: CaseRecord, all_visits: Iterable[Visit], params: Params) -> list[Contact]:
    """Visits overlapping one of the case's visits at the same venue for at least 15 minutes
    inside the exposure window (one pair of visits, never summed)."""
    window = exposure_window(case, params)
    all_visits = list(all_visits)
    own = [v for v in all_visits if v.person_id == case.person_id]
    best: dict[tuple[str, str], tuple[timedelta, Visit, Visit]] = {}
    for mine in own:
        if overlap((mine.start, mine.end), window) <= timedelta(0):
            continue
        relation = VENUE_RELATIONS.get(mine.venue_kind, "venue")
        for other in all_visits:
            if other.person_id == case.person_id or other.venue_code != mine.venue_code:
                continue
            shared = overlap((mine.start, mine.end), (other.start, other.end), window)
            key = (other.person_id, relation)
            if shared >= params.overlap and (key not in best or shared > best[key][0]):
                best[key] = (shared, mine, other)
    return [Contact(case.person_id, person, 1, relation, overlap_minutes=int(shared.total_seconds() // 60),
                    evidence=venue_evidence(mine.venue_code, mine.venue_name, max(mine.start, other.start), shared,
                                            params))
            for (person, relation), (shared, mine, other) in sorted(best.items())]


def venue_evidence(venue_code: str, venue_name: str | None, together: datetime, shared: timedelta,
                   params: Params) -> str:
    """Where (the case's visit) and from when (the later of the two arrivals) they were together."""
    name = f" {venue_name}" if venue_name else ""
    at = together.astimezone(params.zone)  # spelt out: strftime is slow for the 100,000s of contacts
    return (f"{venue_code}{name} {at.year:04d}-{at.month:02d}-{at.day:02d} {at.hour:02d}:{at.minute:02d} "
            f"({int(shared.total_seconds() // 60)} min together)")


def trip_contacts(case: CaseRecord, trips: Iterable[Trip], params: Params) -> list[Contact]:
    """Fellow passengers: same mode, same trip number and local date, the case's trip inside the
    window; same carriage and at most 2 rows apart where both sides say."""
    start, end = exposure_window(case, params)
    trips = list(trips)
    found: dict[str, Contact] = {}
    for mine in (t for t in trips if t.person_id == case.person_id and _trip_no(t)):
        if not start <= mine.moment <= end:
            continue
        day = params.local_date(mine.moment)
        for other in trips:
            if (other.person_id == case.person_id or other.mode != mine.mode or _trip_no(other) != _trip_no(mine)
                    or params.local_date(other.moment) != day or not _same_carriage(mine.carriage, other.carriage)):
                continue
            rows = seat_row(mine.seat), seat_row(other.seat)
            if None not in rows and abs(rows[0] - rows[1]) > params.seat_rows:
                continue
            found.setdefault(other.person_id, Contact(case.person_id, other.person_id, 1, "trip",
                                                      evidence=trip_evidence(mine, other, params)))
    return [found[p] for p in sorted(found)]


def trip_evidence(mine: Trip, other: Trip, params: Params) -> str:
    """The case's trip (``mine``), with the carriage and seats where both sides give them."""
    rows = seat_row(mine.seat), seat_row(other.seat)
    return (f"{mine.mode} {_trip_no(mine)} {params.local_date(mine.moment).isoformat()}"
            + (f" carriage {mine.carriage}" if mine.carriage and other.carriage else "")
            + (f" seats {mine.seat}/{other.seat}" if None not in rows else ""))


def tier1_contacts(case: CaseRecord, *, residents: Iterable[Person], visits: Iterable[Visit],
                   trips: Iterable[Trip], params: Params) -> list[Contact]:
    """Every tier-1 contact of a case, one per person and relation (any person, whatever their
    ledger status, except for ``household``, which counts present residents only). ``visits``
    come from :func:`visits` (or ``queries.visits``)."""
    return (household_contacts(case, residents) + venue_contacts(case, visits, params)
            + trip_contacts(case, trips, params))


def tier2_contacts(case: CaseRecord, tier1: Iterable[Contact], residents: Iterable[Person]) -> list[Contact]:
    """Present household members of tier-1 contacts who are neither the case nor tier-1, one
    line per person (``via`` the first tier-1 contact, by person id, who leads to them)."""
    residents = list(residents)
    first = {c.person for c in tier1}
    by_household: dict[str, list[Person]] = {}
    for person in residents:
        if person.household:
            by_household.setdefault(person.household, []).append(person)
    households = {p.person_id: p.household for p in residents}
    found: dict[str, Contact] = {}
    for via in sorted(first):
        for member in by_household.get(households.get(via) or "", []):
            person = member.person_id
            if person in first or person == case.person_id or member.status != "present" or person in found:
                continue
            found[person] = Contact(case.person_id, person, 2, "household", via=via,
                                    evidence=f"same household as {via}")
    return [found[p] for p in sorted(found)]
