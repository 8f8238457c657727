"""What leaves cityline about epidemics, in the shapes of formats.md §7 (the command line's
``--json`` lines and the API's items are the same objects), and the API's request bodies.

Person ids are the ledger's ``person_id``; times are ISO 8601 in local time with
the offset; personal data only ever masked.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field

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
