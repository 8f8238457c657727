"""HTTP for inspection findings: record one with photos, the unit's reply with photos of the
rectified site, the inspector's check, the photos themselves, sites and the counts.

Photos come as ``multipart/form-data`` and are checked by their content (rules.check_photo):
a file that is not a JPEG or PNG is 422, one over ``CITYLINE_INSPECTION_PHOTO_MAX_BYTES`` 413,
both problem+json naming the file. A photo is served only to those who may see its order
(``orders.api.visible``): to anyone else it is 404, like a photo that does not exist.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from sqlalchemy.orm import Session

from cityline.accounts.deps import Deps, deps
from cityline.db import read_transaction, transaction, utcnow
from cityline.errors import FieldError, Invalid, NotFound
from cityline.idempotency import service as idempotency
from cityline.idempotency.schemas import IdempotencyKeyHeader
from cityline.inspection import queries, service
from cityline.inspection.models import Photo, Site
from cityline.inspection.rules import load_problems
from cityline.inspection.schemas import (
    CheckRequest,
    FindingItem,
    FindingRead,
    PhotoRead,
    ProblemRead,
    SiteRead,
    Tallies,
    TallyRead,
)
from cityline.limits import NUL_MESSAGE, RowId
from cityline.orders.api import reach_filter, visible
from cityline.orders.models import Order
from cityline.orders.service import describe

router = APIRouter(prefix="/api/inspection", tags=["inspection"])
D = Annotated[Deps, Depends(deps)]
PHOTOS = "JPEG or PNG photos, each at most CITYLINE_INSPECTION_PHOTO_MAX_BYTES"
TOO_LARGE = {413: {"description": "a photo is larger than the server accepts"}}


def store_of(d: Deps) -> service.PhotoStore:
    """This app's photo store (``app.state.inspection_photos``, else from settings)."""
    return getattr(d.app_state, "inspection_photos", None) or service.store_for()


def uploads(files: list[UploadFile], max_bytes: int) -> list[service.Upload]:
    """The files' bytes, each read no further than one byte past the limit (enough to refuse it)."""
    return [service.Upload(name=(f.filename or "photo")[-100:], data=f.file.read(max_bytes + 1)) for f in files]


def no_nul(**fields: str | None) -> None:
    """Form fields pass no RequestBody: refuse a NUL as every other request does."""
    bad = [name for name, value in fields.items() if value and "\x00" in value]
    if bad:
        raise Invalid(f"{', '.join(bad)} {NUL_MESSAGE}", [FieldError(name, NUL_MESSAGE, "nul_character") for name in bad])


def site_read(site: Site, unit: str | None) -> SiteRead:
    return SiteRead(code=site.code, name=site.name, kind=site.kind, district=site.district, street=site.street,
                    address=site.address, unit=unit)


def photo_read(photo: Photo) -> PhotoRead:
    return PhotoRead(id=photo.id, stage=photo.stage, media_type=photo.media_type, width=photo.width,
                     height=photo.height, size=photo.size, uploaded_by=photo.uploaded_by,
                     uploaded_at=photo.uploaded_at, url=f"/api/inspection/photos/{photo.id}")


def finding_read(session: Session, order: Order) -> FindingRead:
    found = service.finding_of(session, order)
    if found is None:  # not a finding, or an inspection order imported without one
        raise NotFound(f"no finding numbered {order.number}")
    finding, site, unit = found
    problem = load_problems()[finding.problem]
    return FindingRead(order=describe(session, order, utcnow()), site=site_read(site, unit),
                       problem=ProblemRead(code=problem.code, zh=problem.zh, en=problem.en, category=problem.category),
                       method=finding.method, inspector=finding.inspector, found_at=finding.found_at,
                       photos=[photo_read(p) for p in service.photos_of(session, order.id)])


@router.get("/problems", response_model=list[ProblemRead])
def problems(d: D) -> list[ProblemRead]:
    """The problem types a finding names (the patrol form's buttons)."""
    d.require("orders:read")
    return [ProblemRead(code=p.code, zh=p.zh, en=p.en, category=p.category) for p in load_problems().values()]


@router.get("/sites", response_model=list[SiteRead])
def sites(d: D, q: Annotated[str | None, Query(max_length=100, description="part of a code, name or address")] = None,
          limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[SiteRead]:
    """Sites patrolled, for picking one on the patrol form."""
    d.require("orders:read")
    with read_transaction(d.sessions) as session:
        return [site_read(site, unit) for site, unit in service.find_sites(session, q, limit)]


@router.post("/findings", status_code=201, response_model=FindingRead, responses={
    **TOO_LARGE, 200: {"model": FindingRead, "description": "a retry (same Idempotency-Key, fields and photos): "
                                                             "the finding the first request made"},
    409: {"description": "the Idempotency-Key was used with other fields or photos"}})
def record(d: D, response: Response, site: Annotated[str, Form(max_length=64)],
           problem: Annotated[str, Form(max_length=32)], method: Annotated[str, Form(max_length=16)],
           photos: Annotated[list[UploadFile], File(description=PHOTOS)],
           note: Annotated[str | None, Form(max_length=2000)] = None,
           idempotency_key: IdempotencyKeyHeader = None) -> FindingRead:
    """A finding at a site with at least one photo: an order (channel ``inspection``) dispatched
    to the site's unit (or by the catalogue) with the rectification deadline of its policy. A
    phone on a weak network may send it again with the same Idempotency-Key: 200 with the first."""
    d.require("inspection:record")
    no_nul(site=site, problem=problem, method=method, note=note)
    store = store_of(d)
    files = uploads(photos, store.max_bytes)
    now = utcnow()
    request = {"site": site, "problem": problem, "method": method, "note": note,
               "photos": [hashlib.sha256(f.data).hexdigest() for f in files]}
    with store.keeping() as written, transaction(d.sessions) as session:
        claimed = idempotency.reserve(session, idempotency_key, actor=d.actor, endpoint="POST /api/inspection/findings",
                                      request=request, now=now)
        if claimed and claimed.replay:
            response.status_code = 200
            return finding_read(session, visible(session, d, claimed.replay))
        order = service.record_finding(session, store, written, service.NewFinding(site, problem, method, note),
                                       files, actor=d.actor, now=now, vault=d.vault)
        if claimed:
            idempotency.complete(session, claimed, order.number)
        return finding_read(session, order)


@router.get("/findings", response_model=list[FindingItem])
def recent(d: D, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[FindingItem]:
    """The latest findings within the caller's reach, newest first."""
    d.require("orders:read")
    with read_transaction(d.sessions) as session:
        return [FindingItem(number=o.number, status=o.status, site=s.code, site_name=s.name, problem=f.problem,
                            method=f.method, unit=unit, received_at=o.received_at, resolve_by=o.resolve_by,
                            replied_at=o.replied_at)
                for o, f, s, unit in queries.recent(session, reach_filter(d), limit)]


@router.get("/findings/{number}", response_model=FindingRead)
def show(number: str, d: D) -> FindingRead:
    d.require("orders:read")
    with read_transaction(d.sessions) as session:
        return finding_read(session, visible(session, d, number))


@router.post("/findings/{number}/reply", response_model=FindingRead,
             responses={**TOO_LARGE, 409: {"description": "the order is not accepted, or not a finding"}})
def reply(number: str, d: D, text: Annotated[str, Form(min_length=1, max_length=20000)],
          photos: Annotated[list[UploadFile], File(description=PHOTOS)]) -> FindingRead:
    """The unit's reply (the loop's ``reply``) with at least one photo of the rectified site."""
    d.require("orders:handle")
    no_nul(text=text)
    store = store_of(d)
    files = uploads(photos, store.max_bytes)
    with store.keeping() as written, transaction(d.sessions) as session:
        visible(session, d, number)
        order = service.reply_with_photos(session, store, written, number, text, files, actor=d.actor,
                                          now=utcnow(), reach=reach_filter(d))
        return finding_read(session, order)


@router.post("/findings/{number}/check", response_model=FindingRead,
             responses={409: {"description": "the order has not been replied to, or is not a finding"}})
def check(number: str, body: CheckRequest, d: D) -> FindingRead:
    """The inspector's check: put right (``visit`` satisfied, ``close``) or not (``visit``
    unsatisfied, ``reopen`` to the unit with the note as the reason)."""
    d.require("inspection:check")
    with transaction(d.sessions) as session:
        visible(session, d, number)
        order = service.check_rectification(session, number, body.accepted, body.note, actor=d.actor, now=utcnow(),
                                            reach=reach_filter(d))
        return finding_read(session, order)


@router.get("/photos/{photo_id}", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "the photo"}})
def photo(photo_id: RowId, d: D) -> Response:
    """A photo, to those who may see its order; 404 to anyone else, as for no photo at all."""
    d.require("orders:read")
    with read_transaction(d.sessions) as session:
        found, order = service.photo_with_order(session, photo_id)
        d.ensure_visible(order.unit_id, order.district, order.street, f"photo {photo_id}")
        file, media_type = found.file, found.media_type
    data = store_of(d).path(file).read_bytes()
    return Response(data, media_type=media_type, headers={"Cache-Control": "private, max-age=3600",
                                                           "X-Content-Type-Options": "nosniff"})


@router.get("/tallies", response_model=Tallies)
def tallies(d: D) -> Tallies:
    """Findings by site and by unit with their on-time rates, within the caller's reach."""
    d.require("orders:read")
    now = utcnow()
    with read_transaction(d.sessions) as session:
        reach = reach_filter(d)
        return Tallies(by_site=[tally(t) for t in queries.by_site(session, reach, now)],
                       by_unit=[tally(t) for t in queries.by_unit(session, reach, now)])


def tally(t: queries.Tally) -> TallyRead:
    return TallyRead(code=t.code, name=t.name, findings=t.findings, open=t.open, on_time=t.on_time, late=t.late,
                     on_time_rate=t.on_time_rate)
