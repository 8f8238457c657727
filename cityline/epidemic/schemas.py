"""What leaves cityline about epidemics, in the shapes of formats.md §7 (the command line's
``--json`` lines and the API's items are the same objects), and the API's request bodies.

Person ids are the ledger's ``person_id``; times are ISO 8601 in local time with
the offset; personal data only ever masked.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from cityline.epidemic.clusters import Cluster, Edge, ExposurePlace, Node
from cityline.epidemic.models import Resident
from cityline.epidemic.places import Arrival, ZoneRow
from cityline.epidemic.rules import Contact, CoverageRow, Person
from cityline.limits import RequestBody, in_range
from cityline.timeutil import to_local


def when(moment: datetime | None) -> str | None:
    return to_local(moment).isoformat() if moment else None


def coverage(row: CoverageRow) -> dict[str, Any]:
    return {"district": row.district, "street": row.street, "compound": row.compound, "building": row.building,
            "present": row.present, "tested": row.tested, "coverage": row.coverage}


def untested(person: Person) -> dict[str, Any]:
    return {"person": person.person_id, "district": person.district, "street": person.street,
            "compound": person.compound, "building": person.building, "grid": person.grid}


def zone(row: ZoneRow) -> dict[str, Any]:
    return {"level": row.level, "district": row.district, "street": row.street, "compound": row.compound,
            "building": row.building, "population": row.population, "cases": list(row.cases)}


def arrival(found: Arrival) -> dict[str, Any]:
    return {"person": found.person, "from_area": found.from_area, "risk_area": found.risk_area,
            "level": found.level, "arrived_at": when(found.arrived_at), "trip_no": found.trip_no,
            "mode": found.mode, "departed_at": when(found.departed_at)}


def contact(found: Contact) -> dict[str, Any]:
    return {"case": found.case, "person": found.person, "tier": found.tier, "relation": found.relation,
            "via": found.via, "overlap_minutes": found.overlap_minutes, "evidence": found.evidence}


def tiers(contacts: list[Contact], cases: set[str]) -> dict[str, int]:
    """How many people (cases not counted) are tier-1 contacts, and tier-2 without being tier 1."""
    first = {c.person for c in contacts if c.tier == 1} - cases
    second = {c.person for c in contacts if c.tier == 2} - cases - first
    return {"tier1": len(first), "tier2": len(second)}


def case_line(case, kind: str, row: Resident | None, contacts: list[Contact], cluster: str | None) -> dict[str, Any]:
    """A case with its place (``row``: its ledger record, None for a visitor), contacts counted."""
    return {"person": case.person_id, "name": row.name_masked if row else None, "kind": kind,
            "reported_at": when(case.reported_at), "onset_at": when(case.onset_at),
            "sampled_at": when(case.sampled_at), "district": row.district if row else None,
            "street": row.street if row else None, "compound": row.compound if row else None,
            "building": row.building if row else None, **tiers(contacts, {case.person_id}), "cluster": cluster}


def cluster(found: Cluster, contacts: list[Contact], places: list[str], shown: set[str]) -> dict[str, Any]:
    """A cluster (one ``--json`` line): figures whole, cases and links only those in ``shown``."""
    return {"id": found.id, "first_reported": when(found.first_reported), "last_reported": when(found.last_reported),
            "size": found.size, "recent": found.recent, "previous": found.previous, "growth": found.growth,
            "cases": [p for p in found.person_ids if p in shown],
            "links": [contact(x) for x in found.links if x.case in shown and x.person in shown],
            "places": places, **tiers(contacts, set(found.person_ids))}


def exposure_place(place: ExposurePlace, clusters: dict[str, str], shown: set[str]) -> dict[str, Any]:
    """A place of exposure: cases and their visits only those in ``shown``, all counted."""
    return {"venue_code": place.venue_code, "venue_name": place.venue_name, "venue_kind": place.venue_kind,
            "first": when(place.first), "last": when(place.last), "size": len(place.cases),
            "cases": [p for p in place.cases if p in shown],
            "clusters": sorted({clusters[p] for p in place.cases if p in clusters}),
            "visits": [{"person": v.person_id, "start": when(v.start), "end": when(v.end)}
                       for v in place.visits if v.person_id in shown],
            "contacts": place.contacts}


def graph(nodes: list[Node], edges: list[Edge], labels: dict[str, str], shown: set[str]) -> dict[str, Any]:
    """A cluster's graph: people outside ``shown`` keep their place in it under an
    anonymous id (``~1``, ``~2``…) and without a label."""
    hidden: dict[str, str] = {}

    def name(person: str) -> str:
        return person if person in shown else hidden.setdefault(person, f"~{len(hidden) + 1}")

    return {"nodes": [{"id": name(n.person), "role": n.role, "label": labels.get(n.person, n.person)
                       if n.person in shown else ""} for n in nodes],
            "edges": [{"source": name(e.source), "target": name(e.target), "relation": e.relation, "tier": e.tier}
                      for e in edges]}


def issued(result) -> dict[str, Any]:
    return {"person": result.person, "issued": result.issued, "code": result.code,
            "valid_until": when(result.valid_until), "reason": result.reason, "detail": result.detail}


def verified(found: dict[str, Any]) -> dict[str, Any]:
    return {"status": found["status"], "person": found["person"], "valid_until": when(found["valid_until"]),
            "reason": found.get("reason")}


def resident(row: Resident) -> dict[str, Any]:
    """A resident with personal data masked."""
    return {"person": row.person_id, "name": row.name_masked, "id_number": row.id_number_masked,
            "phone": row.phone_masked, "district": row.district, "street": row.street, "compound": row.compound,
            "building": row.building, "unit": row.unit, "room": row.room, "household_id": row.household_id,
            "grid": row.grid, "special_groups": list(row.special_groups or []), "status": row.status}


class PassIssue(RequestBody):
    persons: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=10_000, description="person_id of each holder")
    district: str | None = Field(None, max_length=64,
                                 description="with street and compound (and building): everyone there")
    street: str | None = Field(None, max_length=64)
    compound: str | None = Field(None, max_length=100)
    building: str | None = Field(None, max_length=64)
    at: datetime | None = Field(None, description="judge at this time (default now; local without an offset)")


class PassVerify(RequestBody):
    code: str = Field(min_length=1, max_length=400)
    at: datetime | None = None


class RevealRequest(RequestBody):
    reason: str = Field(min_length=2, max_length=500, description="why the full data are needed (audited)")


class Warnings(RequestBody):
    day: Annotated[date, AfterValidator(in_range)] | None = Field(
        None, description="local date, YYYY-MM-DD: cases reported up to its end, arrivals on it (default: today)")


class UntestedTasks(RequestBody):
    since: Annotated[date, AfterValidator(in_range)] = Field(description="first local date, YYYY-MM-DD")
    until: Annotated[date, AfterValidator(in_range)] = Field(description="last local date, YYYY-MM-DD")
