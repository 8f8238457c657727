"""HTTP for the dispatch catalogue and its versions (the dispatcher's queue is intake's: ``intake/api.py``).

Reading needs ``units:read``; replacing and restoring need ``catalogue:write``
(administrators). A replacement is a JSON body — ``{"rules": [...], "note": …}``,
each rule with the catalogue file's columns — rather than an upload: the same
rows the CLI reads from .csv/.xlsx, checked the same way.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from cityline.accounts.deps import Deps, deps
from cityline.db import read_transaction, transaction
from cityline.errors import FieldError, Invalid
from cityline.limits import RowId
from cityline.routing import catalogue
from cityline.routing.models import CatalogueVersion
from cityline.routing.schemas import (
    CatalogueReplace,
    ReplaceResult,
    Restore,
    VersionDetail,
    VersionSummary,
)

router = APIRouter(prefix="/api/dispatch", tags=["dispatch"])
D = Annotated[Deps, Depends(deps)]


@router.get("/catalogue")
def list_catalogue(d: D) -> list[dict]:
    d.require("units:read")
    with read_transaction(d.sessions) as session:
        return [{"category": r.category, "district": r.district, "street": r.street, "unit": r.unit_code,
                 "level": r.level, "priority": r.priority, "note": r.note}
                for r in catalogue.list_catalogue(session)]


def _summary(version: CatalogueVersion) -> VersionSummary:
    return VersionSummary.model_validate(version, from_attributes=True)


def _result(done: catalogue.Replacement, response: Response) -> ReplaceResult:
    response.status_code = 201 if done.version else 200
    return ReplaceResult(created=done.version is not None, current=done.current, rule_count=len(done.rules),
                         version=_summary(done.version) if done.version else None)


SAME = {200: {"model": ReplaceResult, "description": "these rules are in force already: no new version"}}


@router.post("/catalogue", status_code=201, response_model=ReplaceResult, responses=SAME)
def replace_catalogue(body: CatalogueReplace, d: D, response: Response) -> ReplaceResult:
    """Replace the whole catalogue: 201 with the new version, 200 when it is the catalogue in force already."""
    d.require("catalogue:write")
    rows = ((i, rule.model_dump()) for i, rule in enumerate(body.rules, start=1))
    with transaction(d.sessions) as session:
        done = catalogue.import_catalogue(session, rows, actor=d.actor, note=body.note)
        if done.bad:
            # Row n is body.rules[n - 1]; the field names it as the request's own path does.
            raise Invalid(f"{len(done.bad)} bad rules; the catalogue is unchanged",
                          [FieldError(f"rules.{b.row - 1}", b.message) for b in done.bad])
        return _result(done, response)


@router.get("/catalogue/versions", response_model=list[VersionSummary])
def list_versions(d: D) -> list[VersionSummary]:
    """Every version, newest first."""
    d.require("units:read")
    with read_transaction(d.sessions) as session:
        return [_summary(v) for v in catalogue.list_versions(session)]


@router.get("/catalogue/versions/{number}", response_model=VersionDetail)
def get_version(number: RowId, d: D) -> VersionDetail:
    """A version's whole rule set and what it changed against the version before."""
    d.require("units:read")
    with read_transaction(d.sessions) as session:
        version = catalogue.get_version(session, number)
        return VersionDetail(**_summary(version).model_dump(),
                             rules=[r.as_dict() for r in catalogue.version_rules(version)],
                             changes=version.changes)


@router.post("/catalogue/versions/{number}/restore", status_code=201, response_model=ReplaceResult,
             responses=SAME)
def restore_version(number: RowId, d: D, response: Response, body: Restore | None = None) -> ReplaceResult:
    """Put version ``number``'s rules back in force as a new version (200 when they are in force already)."""
    d.require("catalogue:write")
    with transaction(d.sessions) as session:
        done = catalogue.restore(session, number, actor=d.actor, note=body.note if body else None)
        return _result(done, response)
