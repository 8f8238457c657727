"""Clusters of cases (风险群) and places of exposure. Pure, like ``rules.py``: cases, their
contacts and their visits in, values out; ``clustering.py`` gathers the data.

- **Link**: two cases are linked when one is a tier-1 contact of the other by the §7 rules
  (household, a venue overlap of at least 15 minutes inside the case's exposure window, a
  trip), in either direction.
- **Cluster**: the cases joined by links (connected components, union-find); a lone case is
  not a cluster. Its id is the person id of its earliest case (earliest report, then the
  smallest person id), so it stays the same from run to run while no earlier case joins it.
- **Growth** on day D: cases reported on local dates D−6..D (``recent``) minus those
  reported on D−13..D−7 (``previous``).
- **Place of exposure**: a venue where visits of two or more cases overlapped for at least
  15 minutes (the overlap setting) inside the exposure window of at least one of the two —
  where one case is a tier-1 venue contact of the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cityline.epidemic.contacts import VENUE_RELATIONS
from cityline.epidemic.rules import CaseRecord, Contact, Params, Visit, exposure_window, overlap

VENUE_KINDS_OF_CONTACT = frozenset(VENUE_RELATIONS.values()) | {"venue"}
GROWTH_DAYS = 7


def span(day: date, params: Params) -> tuple[date, date]:
    """The local dates whose cases are clustered on ``day``: twice the days a contact stays
    one (14 by default), so a chain of two incubation periods is still seen as one cluster."""
    return day - timedelta(days=2 * params.contact_days - 1), day


@dataclass(frozen=True)
class Cluster:
    id: str
    cases: tuple[CaseRecord, ...]  # earliest report first
    links: tuple[Contact, ...]  # tier-1 contacts between two of its cases
    recent: int  # cases reported on D−6..D
    previous: int  # cases reported on D−13..D−7

    @property
    def size(self) -> int:
        return len(self.cases)

    @property
    def growth(self) -> int:
        return self.recent - self.previous

    @property
    def first_reported(self) -> datetime:
        return self.cases[0].reported_at

    @property
    def last_reported(self) -> datetime:
        return max(c.reported_at for c in self.cases)

    @property
    def person_ids(self) -> list[str]:
        return [c.person_id for c in self.cases]


def _earliest(case: CaseRecord) -> tuple[datetime, str]:
    return case.reported_at, case.person_id


def case_links(cases: Iterable[CaseRecord], contacts: Iterable[Contact]) -> list[Contact]:
    """The tier-1 contacts that are themselves cases."""
    ids = {c.person_id for c in cases}
    return sorted((c for c in contacts if c.tier == 1 and c.case in ids and c.person in ids and c.person != c.case),
                  key=lambda c: (c.case, c.person, c.relation))


def clusters(cases: Sequence[CaseRecord], contacts: Iterable[Contact], day: date, params: Params) -> list[Cluster]:
    """The clusters among ``cases`` on ``day``, largest first, then fastest growing, then the
    earliest, then by id."""
    parent = {c.person_id: c.person_id for c in cases}

    def root(person: str) -> str:
        while parent[person] != person:
            parent[person] = parent[parent[person]]  # path halving keeps the trees flat
            person = parent[person]
        return person

    links = case_links(cases, contacts)
    for link in links:
        a, b = root(link.case), root(link.person)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[str, list[CaseRecord]] = {}
    for case in cases:
        groups.setdefault(root(case.person_id), []).append(case)
    recent_from = day - timedelta(days=GROWTH_DAYS - 1)
    previous_from = recent_from - timedelta(days=GROWTH_DAYS)
    found = []
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=_earliest)
        ids = {c.person_id for c in members}
        days = [params.local_date(c.reported_at) for c in members]
        found.append(Cluster(
            id=members[0].person_id, cases=tuple(members), links=tuple(x for x in links if x.case in ids),
            recent=sum(recent_from <= d <= day for d in days),
            previous=sum(previous_from <= d < recent_from for d in days)))
    found.sort(key=lambda c: (-c.size, -c.growth, c.first_reported, c.id))
    return found


def cluster_of(found: Iterable[Cluster]) -> dict[str, str]:
    """Case → the id of its cluster."""
    return {case.person_id: cluster.id for cluster in found for case in cluster.cases}


# -- places of exposure --------------------------------------------------------------------------


@dataclass(frozen=True)
class ExposurePlace:
    venue_code: str
    venue_name: str | None
    venue_kind: str
    cases: tuple[str, ...]  # the cases whose visits overlapped there, by person id
    visits: tuple[Visit, ...]  # those visits, earliest first
    first: datetime  # the start of the earliest overlap
    last: datetime  # the end of the latest overlap
    contacts: int  # tier-1 contacts of those cases whose evidence is this venue, cases not counted


def exposure_places(cases: Sequence[CaseRecord], visits: Iterable[Visit], contacts: Iterable[Contact],
                    params: Params) -> list[ExposurePlace]:
    """Venues where two cases' visits overlapped for at least the overlap setting inside the
    exposure window of one of them; the most cases first, then the earliest."""
    windows = {c.person_id: exposure_window(c, params) for c in cases}
    by_venue: dict[str, list[Visit]] = {}
    for visit in visits:
        if visit.person_id in windows:
            by_venue.setdefault(visit.venue_code, []).append(visit)
    contacts = [c for c in contacts if c.tier == 1 and c.relation in VENUE_KINDS_OF_CONTACT]
    found = []
    for venue, here in by_venue.items():
        here.sort(key=lambda v: (v.start, v.person_id))
        involved: set[Visit] = set()
        spans: list[tuple[datetime, datetime]] = []
        for i, a in enumerate(here):
            for b in here[i + 1:]:
                if b.start >= a.end:
                    break  # sorted by start: no later visit meets ``a``
                if a.person_id == b.person_id:
                    continue
                shared = max(overlap((a.start, a.end), (b.start, b.end), windows[p]) for p in (a.person_id, b.person_id))
                if shared >= params.overlap:
                    involved |= {a, b}
                    spans.append((max(a.start, b.start), min(a.end, b.end)))
        if not involved:
            continue
        people = tuple(sorted({v.person_id for v in involved}))
        # Contact evidence starts with the venue's code (``contacts._venue_evidence``).
        exposed = {c.person for c in contacts
                   if c.case in people and c.person not in people and c.evidence.startswith(venue + " ")}
        name = next((v.venue_name for v in here if v.venue_name), None)
        found.append(ExposurePlace(venue, name, here[0].venue_kind, people,
                                   tuple(sorted(involved, key=lambda v: (v.start, v.person_id))),
                                   min(s for s, _ in spans), max(e for _, e in spans), len(exposed)))
    found.sort(key=lambda p: (-len(p.cases), p.first, p.venue_code))
    return found


# -- the graph of a cluster ---------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    person: str
    role: str  # case | tier1 | tier2


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    relation: str
    tier: int  # 0 between two cases, else the contact's tier


def graph(cluster: Cluster, contacts: Iterable[Contact]) -> tuple[list[Node], list[Edge]]:
    """The cluster's cases and their tier-1 and tier-2 contacts (a person is drawn once, in the
    closest role), with an edge for each link, each tier-1 contact (from the case) and each
    tier-2 contact (from the tier-1 contact it came through)."""
    cases = set(cluster.person_ids)
    mine = [c for c in contacts if c.case in cases]
    role = dict.fromkeys(cluster.person_ids, "case")
    for contact in sorted(mine, key=lambda c: c.tier):
        role.setdefault(contact.person, f"tier{contact.tier}")
    edges: dict[tuple[str, str, str], Edge] = {}
    for contact in mine:
        source = contact.via if contact.tier == 2 and contact.via else contact.case
        tier = 0 if contact.person in cases else contact.tier
        key = (*sorted((source, contact.person)), contact.relation)
        edges.setdefault(key, Edge(source, contact.person, contact.relation, tier))
    nodes = [Node(person, kind) for person, kind in role.items()]
    nodes.sort(key=lambda n: (("case", "tier1", "tier2").index(n.role), n.person))
    return nodes, sorted(edges.values(), key=lambda e: (e.tier, e.source, e.target, e.relation))
