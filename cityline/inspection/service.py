"""Findings through the loop: record one (an order made through intake, with its photos),
the unit's reply with photos of the rectified site, the inspector's check; the sites register.

Never commits: the API or command owns the transaction. Photo files are written while the
transaction is open, into a :meth:`PhotoStore.keeping` block that removes them again when the
transaction does not commit, so no file outlives a refused or failed request and no row
names a file that is not there.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cityline.accounts.models import Unit
from cityline.accounts.units import active_unit
from cityline.config import Settings, get_settings
from cityline.errors import Conflict, FieldError, Invalid, NotFound, RowError
from cityline.inspection.models import Finding, Photo, Site
from cityline.inspection.rules import (
    MAX_PHOTOS,
    METHODS,
    SITE_KINDS,
    ImageInfo,
    check_photo,
    finding_text,
    load_problems,
)
from cityline.intake.service import create_order
from cityline.orders.models import Order
from cityline.orders.queries import OrderFilter
from cityline.orders.schemas import OrderCreate
from cityline.orders.service import get_order, move_order
from cityline.privacy import Vault
from cityline.tabular import Row

CHANNEL = "inspection"
DISPATCHER = "inspection"  # the actor of a dispatch to the site's own unit


@dataclass(frozen=True)
class Upload:
    """A file as sent: the sender's name (only ever shown back in an error) and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class PhotoStore:
    """Where photo files live (``<data_dir>/inspection/photos``) and how large one may be."""

    root: Path
    max_bytes: int

    def path(self, file: str) -> Path:
        return self.root / file

    def write(self, file: str, data: bytes, written: list[str]) -> None:
        """Whole or not at all: a temporary file renamed into place, then noted in ``written``."""
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = self.root / f".{file}.part"
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.root / file)
        written.append(file)

    @contextmanager
    def keeping(self) -> Iterator[list[str]]:
        """The files written inside stay only if the block ends without an error."""
        written: list[str] = []
        try:
            yield written
        except BaseException:
            for file in written:
                self.path(file).unlink(missing_ok=True)
            raise


def store_for(settings: Settings | None = None) -> PhotoStore:
    settings = settings or get_settings()
    return PhotoStore(settings.data_dir / "inspection" / "photos", settings.inspection_photo_max_bytes)


# -- sites ------------------------------------------------------------------------------------------


def upsert_site(session: Session, values: Mapping[str, Any]) -> Site:
    """Create the site, or update it when the code exists (importing twice changes nothing)."""
    code, name = str(values.get("code") or "").strip(), str(values.get("name") or "").strip()
    kind = str(values.get("kind") or "other").strip()
    errors = [FieldError(f, "required", "missing") for f, v in (("code", code), ("name", name)) if not v]
    if kind not in SITE_KINDS:
        errors.append(FieldError("kind", f"one of: {', '.join(SITE_KINDS)}", "unknown"))
    if errors:
        raise Invalid("the site has missing or wrong values", errors)
    unit = active_unit(session, values["unit"]) if values.get("unit") else None
    site = session.scalars(select(Site).where(Site.code == code)).one_or_none() or Site(code=code)
    site.name, site.kind, site.unit_id, site.active = name, kind, unit.id if unit else None, True
    site.district, site.street, site.address = (values.get(k) or None for k in ("district", "street", "address"))
    session.add(site)
    session.flush()
    return site


def import_sites(session: Session, rows: Iterable[Row]) -> tuple[int, list[RowError]]:
    """Create or update sites from numbered rows (``cityline.tabular.read_rows``): (sites
    written, bad rows with their numbers and reasons); a bad row does not stop the good ones."""
    written, bad = 0, []
    for number, row in rows:
        if isinstance(row, RowError):
            bad.append(row)
            continue
        try:
            with session.begin_nested():
                upsert_site(session, {k: (str(v).strip() if v is not None else None) for k, v in row.items()})
            written += 1
        except Invalid as error:
            bad.append(RowError(number, "; ".join(f"{e.field}: {e.message}" for e in error.errors) or error.detail))
    return written, bad


def find_sites(session: Session, text: str | None = None, limit: int = 50) -> list[tuple[Site, str | None]]:
    """Active sites whose code, name or address holds ``text``, with their unit's code."""
    query = select(Site, Unit.code).outerjoin(Unit, Unit.id == Site.unit_id).where(Site.active)
    if text and text.strip():
        like = text.strip()
        query = query.where(or_(Site.name.contains(like, autoescape=True), Site.code.contains(like, autoescape=True),
                                Site.address.contains(like, autoescape=True)))
    return [(site, unit) for site, unit in session.execute(query.order_by(Site.district, Site.street, Site.name).limit(limit))]


def site_by_code(session: Session, code: str) -> Site:
    site = session.scalars(select(Site).where(Site.code == code, Site.active)).one_or_none()
    if site is None:
        raise Invalid(f"no site has the code '{code}'", [FieldError("site", "no active site has this code", "unknown")],
                      code="inspection.unknown_site", params={"site": code})
    return site


# -- photos -----------------------------------------------------------------------------------------


def check_photos(uploads: Sequence[Upload], max_bytes: int) -> list[ImageInfo]:
    """Every upload checked before anything is written: 1 to MAX_PHOTOS JPEG or PNG photos."""
    if not uploads:
        raise Invalid("at least one photo is needed", [FieldError("photos", "at least one photo", "missing")],
                      code="inspection.photo_required")
    if len(uploads) > MAX_PHOTOS:
        raise Invalid(f"at most {MAX_PHOTOS} photos at once",
                      [FieldError("photos", f"at most {MAX_PHOTOS}", "too_long")],
                      code="inspection.too_many_photos", params={"limit": str(MAX_PHOTOS)})
    return [check_photo(u.data, u.name, max_bytes) for u in uploads]


def photo_names(infos: Sequence[ImageInfo]) -> list[str]:
    """Names the server chooses (random, so one cannot be guessed from another)."""
    return [f"{secrets.token_hex(16)}{info.suffix}" for info in infos]


def save_photos(session: Session, store: PhotoStore, written: list[str], order: Order, stage: str,
                uploads: Sequence[Upload], infos: Sequence[ImageInfo], files: Sequence[str], *, actor: str,
                now: datetime) -> None:
    for upload, info, file in zip(uploads, infos, files, strict=True):
        store.write(file, upload.data, written)
        session.add(Photo(order_id=order.id, stage=stage, file=file, media_type=info.media_type,
                          size=len(upload.data), width=info.width, height=info.height,
                          sha256=hashlib.sha256(upload.data).hexdigest(), uploaded_by=actor, uploaded_at=now))
    session.flush()


def photos_of(session: Session, order_id: int) -> list[Photo]:
    return list(session.scalars(select(Photo).where(Photo.order_id == order_id).order_by(Photo.id)))


def photo_with_order(session: Session, photo_id: int) -> tuple[Photo, Order]:
    row = session.execute(select(Photo, Order).join(Order, Order.id == Photo.order_id)
                          .where(Photo.id == photo_id)).one_or_none()
    if row is None:
        raise NotFound(f"no photo {photo_id}")
    return row[0], row[1]


# -- the loop ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewFinding:
    site: str  # the site's code
    problem: str
    method: str
    note: str | None = None


def record_finding(session: Session, store: PhotoStore, written: list[str], finding: NewFinding,
                   uploads: Sequence[Upload], *, actor: str, now: datetime, vault: Vault) -> Order:
    """The finding as an order (through intake, like every way in), dispatched to the site's
    unit when the register names one (else routed by the catalogue as usual), with its photos."""
    problem = load_problems().get(finding.problem)
    errors = [] if problem else [FieldError("problem", f"one of: {', '.join(load_problems())}", "unknown")]
    if finding.method not in METHODS:
        errors.append(FieldError("method", f"one of: {', '.join(METHODS)}", "unknown"))
    if errors:
        raise Invalid("the finding has wrong values", errors)
    assert problem is not None
    site = site_by_code(session, finding.site)
    infos = check_photos(uploads, store.max_bytes)
    order, _ = create_order(session, OrderCreate(
        text=finding_text(problem, site.name, finding.note), channel=CHANNEL, address=site.address or site.name,
        district=site.district, street=site.street, kind="report", category=problem.category,
        urgency=problem.urgency), actor=actor, now=now, vault=vault, route=site.unit_id is None)
    if site.unit_id is not None:
        unit = session.get(Unit, site.unit_id)
        assert unit is not None
        order = move_order(session, order.number, "dispatch", {"unit": unit.code}, actor=DISPATCHER, now=now)
    session.add(Finding(order_id=order.id, site_id=site.id, problem=problem.code, method=finding.method,
                        inspector=actor, found_at=now))
    save_photos(session, store, written, order, "finding", uploads, infos, photo_names(infos), actor=actor, now=now)
    return order


def inspection_order(session: Session, number: str) -> Order:
    order = get_order(session, number)
    if order.channel != CHANNEL:
        raise Conflict(f"order {number} is not an inspection finding", code="inspection.not_a_finding")
    return order


def reply_with_photos(session: Session, store: PhotoStore, written: list[str], number: str, text: str,
                      uploads: Sequence[Upload], *, actor: str, now: datetime, reach: OrderFilter | None) -> Order:
    """The unit's reply (the loop's ``reply``) naming the photos of the rectified site."""
    inspection_order(session, number)
    infos = check_photos(uploads, store.max_bytes)
    files = photo_names(infos)
    # The move first: a refused one (wrong status, no text) raises before a file is written.
    order = move_order(session, number, "reply", {"text": text, "photos": files}, actor=actor, now=now, reach=reach)
    save_photos(session, store, written, order, "rectified", uploads, infos, files, actor=actor, now=now)
    return order


def check_rectification(session: Session, number: str, accepted: bool, note: str | None, *, actor: str,
                        now: datetime, reach: OrderFilter | None) -> Order:
    """The inspector looks at the site again: the loop's ``visit`` (satisfied or not), then
    ``close`` when it is put right, or ``reopen`` (back to the unit, a reason needed) when not."""
    inspection_order(session, number)
    move_order(session, number, "visit", {"satisfaction": "satisfied" if accepted else "unsatisfied", "note": note},
               actor=actor, now=now, reach=reach)
    if accepted:
        return move_order(session, number, "close", {"note": note}, actor=actor, now=now, reach=reach)
    return move_order(session, number, "reopen", {"reason": note}, actor=actor, now=now, reach=reach)


def finding_of(session: Session, order: Order) -> tuple[Finding, Site, str | None] | None:
    """The order's finding, its site and the code of the site's unit (None: not a finding)."""
    row = session.execute(select(Finding, Site, Unit.code).join(Site, Site.id == Finding.site_id)
                          .outerjoin(Unit, Unit.id == Site.unit_id).where(Finding.order_id == order.id)).one_or_none()
    return (row[0], row[1], row[2]) if row else None
