"""HTTP for handling units."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from cityline.accounts import units as service
from cityline.accounts.deps import Deps, deps
from cityline.accounts.schemas import UnitActive, UnitCreate, UnitRead
from cityline.accounts.service import audit
from cityline.db import read_transaction, transaction
from cityline.generations import Cached

router = APIRouter(prefix="/api/units", tags=["units"])


def _read(unit, codes_by_id: dict[int, str]) -> UnitRead:
    return UnitRead(code=unit.code, name=unit.name, kind=unit.kind, district=unit.district,
                    street=unit.street, parent_code=codes_by_id.get(unit.parent_id), active=unit.active)


def _all(session) -> tuple[UnitRead, ...]:
    units = service.list_units(session)
    codes = {u.id: u.code for u in units}
    return tuple(_read(u, codes) for u in units)


# Every console page names units (and the queue offers them all): kept between requests, read
# again when a unit changes.
_listed = Cached(_all, "units")


@router.get("", response_model=list[UnitRead])
def list_(d: Annotated[Deps, Depends(deps)]) -> list[UnitRead]:
    d.require("units:read")
    with read_transaction(d.sessions) as session:
        return list(_listed.get(session))


@router.post("", status_code=201, response_model=UnitRead)
def create(body: UnitCreate, d: Annotated[Deps, Depends(deps)]) -> UnitRead:
    d.require("units:write")
    with transaction(d.sessions) as session:
        unit = service.upsert_unit(session, body.model_dump())
        audit(session, d.actor, "unit_saved", unit.code, **body.model_dump())
        codes = {u.id: u.code for u in service.list_units(session)}
        return _read(unit, codes)


@router.post("/{code}/active", response_model=UnitRead,
             responses={409: {"description": "units below are still active, or the unit above is not"}})
def set_active(code: str, body: UnitActive, d: Annotated[Deps, Depends(deps)]) -> UnitRead:
    """Deactivate a unit (nothing more is dispatched to it; its orders and history stay) or bring it back."""
    d.require("units:write")
    with transaction(d.sessions) as session:
        unit = service.set_active(session, code, body.active)
        audit(session, d.actor, "unit_activated" if body.active else "unit_deactivated", code)
        codes = {u.id: u.code for u in service.list_units(session)}
        return _read(unit, codes)
