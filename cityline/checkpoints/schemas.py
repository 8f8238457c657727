"""What crosses the API: a checkpoint, a registration as sent from the phone page (and as a row
of a bulk file is read into), and the answers, masked."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from cityline.checkpoints.models import Checkpoint, Registration, Traveller
from cityline.limits import RequestBody
from cityline.privacy import mask_text

MAX_PEOPLE = 60  # a coach's seats; a larger number is not one vehicle


class CheckpointBody(RequestBody):
    code: str = Field(min_length=1, max_length=64, description="the checkpoint's code, e.g. YC-G6-01")
    name: str = Field(min_length=1, max_length=200, description="its name, e.g. 银川东收费站卡口")
    unit: str = Field(min_length=1, max_length=64, description="code of the unit responsible")
    district: str | None = Field(None, max_length=64)
    street: str | None = Field(None, max_length=64)


class PersonBody(RequestBody):
    role: Literal["driver", "passenger"] = "passenger"
    name: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, max_length=40)
    id_number: str | None = Field(None, max_length=32)
    health_code: str | None = Field(None, max_length=16, description="green, yellow or red (rules.toml)")
    tested_at: datetime | None = Field(
        None, description="sample time of the latest negative test; without an offset, local time")


class RegistrationBody(RequestBody):
    checkpoint: str = Field(min_length=1, max_length=64)
    direction: Literal["in", "left"] = "in"
    plate: str = Field(min_length=1, max_length=16, description="e.g. 宁A12345")
    registered_at: datetime | None = Field(None, description="default: now; without an offset, local time")
    origin: str | None = Field(None, max_length=200, description="where the vehicle comes from, e.g. 内蒙古自治区呼和浩特市")
    destination: str | None = Field(None, max_length=200)
    cargo: str | None = Field(None, max_length=200)
    turn_back: bool = Field(False, description="the officer turns the vehicle back (劝返)")
    people: list[PersonBody] = Field(default_factory=list, max_length=MAX_PEOPLE)


def checkpoint_out(row: Checkpoint, unit_code: str) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "unit": unit_code, "district": row.district,
            "street": row.street, "active": row.active}


def traveller_out(row: Traveller) -> dict[str, Any]:
    return {"role": row.role, "name": row.name_masked, "phone": row.phone_masked,
            "id_number": row.id_number_masked, "health_code": row.health_code,
            "tested_at": row.tested_at.isoformat() if row.tested_at else None, "flags": list(row.flags)}


def registration_out(row: Registration, checkpoint: str, people: list[Traveller]) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    # Free text as typed at the roadside may hold a phone number: masked like every text shown.
    return {"id": row.id, "checkpoint": checkpoint, "direction": row.direction, "outcome": row.outcome,
            "registered_at": when(row.registered_at), "plate": row.plate_masked, "origin": mask_text(row.origin or "") or None,
            "destination": mask_text(row.destination or "") or None, "cargo": mask_text(row.cargo or "") or None,
            "risk_area": row.risk_area,
            "risk_level": row.risk_level, "flagged": row.flagged, "must_leave_by": when(row.must_leave_by),
            "loop_order": row.loop_order, "left_at": when(row.left_at), "warning_order": row.warning_order,
            "warned_at": when(row.warned_at), "people": [traveller_out(p) for p in people]}
