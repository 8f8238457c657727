"""HTTP for the dispatch catalogue (the dispatcher's queue is intake's: ``intake/api.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from cityline.accounts.deps import Deps, deps
from cityline.db import read_transaction
from cityline.routing import catalogue

router = APIRouter(prefix="/api/dispatch", tags=["dispatch"])
D = Annotated[Deps, Depends(deps)]


@router.get("/catalogue")
def list_catalogue(d: D) -> list[dict]:
    d.require("units:read")
    with read_transaction(d.sessions) as session:
        return [{"category": r.category, "district": r.district, "street": r.street, "unit": r.unit_code,
                 "level": r.level, "priority": r.priority, "note": r.note}
                for r in catalogue.list_catalogue(session)]
