"""HTTP for road checkpoints under ``/api/checkpoints``: the checkpoints, a registration from the
phone page, a bulk file, the counts per checkpoint and hour, the vehicles inside their loop.

Registering needs ``checkpoints:register`` at a checkpoint in the caller's reach (its unit's
subtree, or its place for area roles); a checkpoint outside it answers 404, as a missing one.
Names, phones, ID numbers and plates come back masked.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile

from cityline.accounts.deps import Deps, deps
from cityline.accounts.models import Unit
from cityline.checkpoints import rules, schemas, service
from cityline.checkpoints.models import Checkpoint
from cityline.db import read_transaction, transaction, utcnow
from cityline.errors import FieldError, Invalid
from cityline.idempotency import service as idempotency
from cityline.idempotency.schemas import IdempotencyKeyHeader
from cityline.limits import Moment
from cityline.timeutil import as_aware, local_zone

router = APIRouter(prefix="/api/checkpoints", tags=["checkpoints"])
D = Annotated[Deps, Depends(deps)]
MAX_SPAN = timedelta(days=31)  # counts for at most a month at a time


def env_of(d: Deps) -> service.Env:
    return getattr(d.app_state, "checkpoint_env", None) or service.env_for(d.vault)


def sees(d: Deps):
    """The caller's reach over checkpoints (the unit responsible, or the checkpoint's place)."""
    def check(checkpoint: Checkpoint) -> bool:
        return d.principal.sees(checkpoint.unit_id, checkpoint.district, checkpoint.street)
    return check


@router.get("")
def list_checkpoints(d: D) -> list[dict[str, Any]]:
    """The active checkpoints in the caller's reach."""
    d.require("checkpoints:read")
    with read_transaction(d.sessions) as session:
        return [schemas.checkpoint_out(c, unit) for c, unit in service.checkpoints(session, sees(d))]


@router.post("")
def save_checkpoint(body: schemas.CheckpointBody, d: D) -> dict[str, Any]:
    """Create a checkpoint, or update the one with the same code (its unit in the caller's reach)."""
    d.require("checkpoints:admin")

    def unit_seen(unit: Unit) -> bool:
        return d.principal.sees(unit.id, unit.district, unit.street)

    with transaction(d.sessions) as session:
        row = service.save_checkpoint(session, body, sees=unit_seen)
        return schemas.checkpoint_out(row, body.unit)


@router.post("/registrations", responses={
    404: {"description": "no such checkpoint in the caller's reach"},
    409: {"description": "the Idempotency-Key was used with another request"}})
def register(body: schemas.RegistrationBody, d: D, idempotency_key: IdempotencyKeyHeader = None) -> dict[str, Any]:
    """Register one vehicle coming in (passed or turned back) or leaving. Answers the registration
    with each person's flags (no recent negative test, health code), the risk area and the
    closed-loop task when the vehicle came from one, or the loop a departure closed. The same
    vehicle, checkpoint, time and direction again answers what is stored (``created`` false); so
    does a retry with the same Idempotency-Key and body (a phone's resend without a time)."""
    d.require("checkpoints:register")
    now = utcnow()
    with transaction(d.sessions) as session:
        claimed = idempotency.reserve(session, idempotency_key, actor=d.actor, endpoint="POST /api/checkpoints/registrations",
                                      request=body.model_dump(mode="json"), now=now)
        if claimed and claimed.replay:
            return claimed.answer
        done = service.register(session, env_of(d), body, actor=d.actor, now=now, sees=sees(d))
        closed = done.closed
        answer = {**schemas.registration_out(done.registration, done.checkpoint, done.people),
                  "created": done.created,
                  "closed_loop": {"id": closed.id, "loop_order": closed.loop_order,
                                  "warning_order": closed.warning_order} if closed else None}
        if claimed:
            idempotency.complete(session, claimed, f"checkpoint registration {done.registration.id}", answer=answer)
        return answer


@router.post("/registrations/import")
def upload_registrations(d: D, file: Annotated[UploadFile, File(description=".csv, .jsonl or .xlsx")]) -> dict[str, Any]:
    """Register every good row of a file (one vehicle a row; the columns are in the README); the
    report names every bad row with its reasons, and the good rows are stored."""
    d.require("checkpoints:register")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / (Path(file.filename or "").name or "upload")  # the name only, never a path
        with path.open("wb") as handle:
            shutil.copyfileobj(file.file, handle)
        with transaction(d.sessions) as session:
            report = service.import_file(session, env_of(d), path, actor=d.actor, now=utcnow(), sees=sees(d))
    return report.as_dict()


@router.get("/counts")
def counts(d: D, since: Annotated[Moment | None, Query(description="default: 24 hours ago")] = None,
           until: Annotated[Moment | None, Query(description="default: now")] = None) -> list[dict[str, Any]]:
    """Per checkpoint and local hour: vehicles checked coming in, turned back, left, people
    flagged, overdue warnings opened (hours with nothing are left out)."""
    d.require("checkpoints:read")
    last = as_aware(until) if until else utcnow()
    first = as_aware(since) if since else last - timedelta(hours=24)
    if not timedelta(0) < last - first <= MAX_SPAN:
        raise Invalid("since must come before until, at most 31 days before",
                      [FieldError("since", "not before until, or more than 31 days before", "span")])
    return [c.as_dict() for c in hour_counts(d, first, last)]


def hour_counts(d: Deps, since: datetime, until: datetime) -> list[rules.HourCount]:
    with read_transaction(d.sessions) as session:
        found = service.counted(session, since, until, sees(d))
    return rules.hourly(found, local_zone(), since, until)


@router.get("/loops")
def loops(d: D) -> list[dict[str, Any]]:
    """Vehicles inside their closed loop (not registered as left), the earliest due first, with
    whether they are overdue and their warning order."""
    d.require("checkpoints:read")
    now = utcnow()
    with read_transaction(d.sessions) as session:
        return [{**schemas.registration_out(r, code, service.travellers(session, r.id)),
                 "overdue": rules.overdue(r.must_leave_by, r.left_at, now)}
                for r, code in service.open_loops(session, sees(d))]
