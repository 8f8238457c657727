"""Contact tracing: gathers, for each case, the data its contacts can come from, and lets the
pure rules (``contacts.tier1_contacts``, ``contacts.tier2_contacts``) decide.

:func:`tier1_contacts` is the seam the pass rule stands on ("not a tier-1 contact of a
case reported within 14 days"): household, shared venues and shared trips, as §7
defines them. What is fetched per case:

- the household: the case's ledger record and the residents with the same household;
- venues: every visit on the local dates the exposure windows touch (one day more
  before them, for a visit that began the evening before with a recorded check-out) at
  the venues the cases visited in those days;
- trips: the case's trips arriving from the window's first date to two days after it
  (a trip is dated by its departure), and every trip with the same number in those days.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

from sqlalchemy.orm import Session

from cityline.epidemic import ledger, queries
from cityline.epidemic.contacts import tier1_contacts as contacts_of
from cityline.epidemic.contacts import tier2_contacts
from cityline.epidemic.rules import CaseRecord, Contact, Person, exposure_window


def tier1_contacts(session: Session, env, cases: Sequence[CaseRecord]) -> list[Contact]:
    """Every tier-1 contact of each case (one line per case, person and relation). The data of
    all the cases are fetched together (one read of the scans of the days their windows
    touch), then the rules look at each case."""
    if not cases:
        return []
    params = env.params
    windows = [exposure_window(case, params) for case in cases]
    first = min(params.local_date(start) for start, _ in windows) - timedelta(days=1)
    last = max(params.local_date(end) for _, end in windows)
    ids = [c.person_id for c in cases]
    homes = [p.household for p in ledger.people(session, ids) if p.household]
    residents = ledger.household_members(session, homes)
    own = queries.visits(env.store, first, last, params, persons=ids)
    venues = {v.venue_code for v in own}
    visits = queries.visits(env.store, first, last, params, venues=venues) if venues else []
    trips = queries.trips_of(env.store, ids, first, last + timedelta(days=2), params)
    numbers = {t.trip_no for t in trips if t.trip_no}
    fellow = queries.trips_on(env.store, numbers, first, last + timedelta(days=2), params) if numbers else []
    found: list[Contact] = []
    for case in cases:
        found += contacts_of(case, residents=residents, visits=visits, trips=fellow, params=params)
    return found


def contacts(session: Session, env, cases: Sequence[CaseRecord]) -> list[Contact]:
    """Tier-1 and tier-2 contacts of each case."""
    first = tier1_contacts(session, env, cases)
    contacted = ledger.people(session, {c.person for c in first})
    members = ledger.household_members(session, {p.household for p in contacted if p.household})
    # Each case's tier 2 is looked for among its own tier-1 contacts and their households only:
    # handing every case everyone made a day of a thousand cases take a minute.
    by_case: dict[str, list[Contact]] = {}
    for contact in first:
        by_case.setdefault(contact.case, []).append(contact)
    person = {p.person_id: p for p in contacted}
    households: dict[str | None, list[Person]] = {}
    for member in members:
        households.setdefault(member.household, []).append(member)
    found: list[Contact] = []
    for case in cases:
        mine = by_case.get(case.person_id, [])
        near = [person[c.person] for c in mine if c.person in person]
        near += [m for home in {p.household for p in near if p.household} for m in households.get(home, [])]
        found += mine + tier2_contacts(case, mine, near)
    return found


def contact_index(session: Session, env, cases: Sequence[CaseRecord], among: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Person → the cases (of ``cases``) they are a tier-1 contact of (only ``among``, when given)."""
    wanted = set(among) if among is not None else None
    index: dict[str, list[str]] = {}
    for contact in tier1_contacts(session, env, cases):
        if wanted is None or contact.person in wanted:
            index.setdefault(contact.person, [])
            if contact.case not in index[contact.person]:
                index[contact.person].append(contact.case)
    return index
