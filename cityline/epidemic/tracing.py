"""Contact tracing: for each case, its tier-1 contacts (household, shared venues, shared trips)
and their households (tier 2), as ``contacts.py`` defines them.

:func:`tier1_contacts` is the seam the pass rule stands on ("not a tier-1 contact of a
case reported within 14 days"). The household comes from the ledger (the case's record and
the residents with the same household) and the pure rule; venues and trips are set-based
DuckDB SQL over the fact store for all the cases at once (``queries.venue_contacts``,
``queries.trip_contacts``; the tests hold them to ``contacts.py``), reading:

- venues: the scans made on the local dates the exposure windows touch (one day more before
  them, for a visit that began the evening before with a recorded check-out);
- trips: those arriving from the window's first date to two days after it (a trip is dated
  by its departure).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

from sqlalchemy.orm import Session

from cityline.epidemic import ledger, queries
from cityline.epidemic.contacts import household_contacts, tier2_contacts
from cityline.epidemic.rules import CaseRecord, Contact, Person, exposure_window


def tier1_contacts(session: Session, env, cases: Sequence[CaseRecord]) -> list[Contact]:
    """Every tier-1 contact of each case (one line per case, person and relation): for each case in
    turn its household, then its venue contacts, then its fellow passengers, each by person."""
    if not cases:
        return []
    params = env.params
    windows = [exposure_window(case, params) for case in cases]
    first = min(params.local_date(start) for start, _ in windows) - timedelta(days=1)
    last = max(params.local_date(end) for _, end in windows)
    homes = {p.person_id: p.household for p in ledger.people(session, [c.person_id for c in cases]) if p.household}
    # Each case is shown its own household only (a thousand cases each reading every gathered
    # resident cost seconds for nothing).
    households: dict[str, list[Person]] = {}
    for member in ledger.household_members(session, set(homes.values())):
        households.setdefault(member.household, []).append(member)
    venues = queries.venue_contacts(env.store, cases, first, last, params)
    trips = queries.trip_contacts(env.store, cases, first, last + timedelta(days=2), params)
    found: list[Contact] = []
    for number, case in enumerate(cases):
        home = households.get(homes.get(case.person_id, ""), [])
        found += household_contacts(case, home) + venues.get(number, []) + trips.get(number, [])
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
