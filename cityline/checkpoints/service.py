"""Checkpoints through a session: registering vehicles (one from the phone page, or a file's rows),
closing loops, the overdue check, and the reads the console needs. Never commits.

A vehicle let in from a risk area gets its closed-loop task through ``epidemic.tasks.open_task``
(through intake, channel ``warning``, dispatched to the checkpoint's unit); the overdue check
opens a warning order the same way, once per registration (its ``external_id``), so running it
again adds nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cityline import tabular
from cityline.accounts.models import Unit
from cityline.checkpoints import rules
from cityline.checkpoints.models import Checkpoint, Registration, Traveller
from cityline.checkpoints.schemas import MAX_PEOPLE, CheckpointBody, PersonBody, RegistrationBody
from cityline.epidemic import service as epidemic
from cityline.epidemic.areas import resolve
from cityline.epidemic.ledger import Protector
from cityline.epidemic.rules import Params
from cityline.epidemic.tasks import open_task
from cityline.errors import FieldError, Invalid, NotFound, RowError
from cityline.orders.service import get_order, record_event
from cityline.privacy import Vault
from cityline.timeutil import as_aware, to_local

# The loop's task: risk-area arrivals under control (taxonomy.toml; the SLA policy epidemic_control).
# Its overdue warning: a truck and its driver at a checkpoint (EPI.TRAVEL) — urgent warnings of
# EPI.ISOLATION are the case tracing orders on the hour chain (sla/policies.toml: epidemic_tracing).
LOOP_CATEGORY, WARNING_CATEGORY = "EPI.ISOLATION", "EPI.TRAVEL"
LOOP_URGENCY, WARNING_URGENCY = "sub_urgent", "urgent"
LEFT_EVENT = "checkpoint_left"  # recorded on a loop's orders when the vehicle leaves
LEVELS = {"high": "高风险", "medium": "中风险", "low": "低风险"}
# Words a checkpoint's spreadsheet may use for the values the API takes in English.
COLOUR_WORDS = {"绿": "green", "绿码": "green", "黄": "yellow", "黄码": "yellow", "红": "red", "红码": "red"}
DIRECTION_WORDS = {"驶入": "in", "进": "in", "入": "in", "驶离": "left", "出": "left", "离开": "left"}
YES_WORDS = {"是", "劝返", "yes", "y", "true", "1"}
PERSON_FIELDS = ("name", "phone", "id_number", "health_code", "tested_at")
FILE_REQUIRED = ("checkpoint", "plate", "registered_at")
CLOCK_SKEW = timedelta(minutes=10)  # how far a phone's clock may run ahead of the server's


@dataclass
class Env:
    """What registering needs besides a session: the rules, the epidemic rules' parameters
    (time zone, arrival matching) and the vault."""

    rules: rules.Rules
    params: Params
    vault: Vault


def env_for(vault: Vault) -> Env:
    from cityline.config import get_settings

    return Env(rules.load_rules(), epidemic.params_from(get_settings()), vault)


def plate_digest(vault: Vault, plate: str) -> str:
    return hmac.new(vault.derive_key("checkpoint-plate-v1"), plate.encode(), hashlib.sha256).hexdigest()[:40]


# -- checkpoints --------------------------------------------------------------------------------------


def save_checkpoint(session: Session, body: CheckpointBody, *, sees: Callable[[Unit], bool] | None = None) -> Checkpoint:
    """Create a checkpoint, or update the one with its code."""
    unit = session.scalars(select(Unit).where(Unit.code == body.unit)).one_or_none()
    if unit is None or (sees is not None and not sees(unit)):
        raise Invalid(f"no unit {body.unit!r}", [FieldError("unit", "unknown unit", "unknown_unit")])
    row = session.scalars(select(Checkpoint).where(Checkpoint.code == body.code)).one_or_none()
    if row is None:
        row = Checkpoint(code=body.code)
        session.add(row)
    row.name, row.unit_id, row.district, row.street = body.name, unit.id, body.district, body.street
    row.active = True
    session.flush()
    return row


def checkpoints(session: Session, sees: Callable[[Checkpoint], bool] | None = None) -> list[tuple[Checkpoint, str]]:
    """Active checkpoints (those ``sees`` allows), with their unit's code, by code."""
    rows = session.execute(select(Checkpoint, Unit.code).join(Unit, Unit.id == Checkpoint.unit_id)
                           .where(Checkpoint.active).order_by(Checkpoint.code)).all()
    return [(c, unit) for c, unit in rows if sees is None or sees(c)]


def checkpoint_by_code(session: Session, code: str, sees: Callable[[Checkpoint], bool] | None = None) -> Checkpoint:
    """The active checkpoint with ``code``; one outside ``sees`` does not exist (404)."""
    row = session.scalars(select(Checkpoint).where(Checkpoint.code == code, Checkpoint.active)).one_or_none()
    if row is None or (sees is not None and not sees(row)):
        raise NotFound(f"no checkpoint {code!r}", code="checkpoint.unknown", params={"code": code})
    return row


# -- registering ----------------------------------------------------------------------------------------


@dataclass
class Registered:
    registration: Registration
    checkpoint: str
    people: list[Traveller]
    created: bool
    closed: Registration | None = None  # the loop a ``left`` registration closed


def register(session: Session, env: Env, body: RegistrationBody, *, actor: str, now: datetime, source: str = "form",
             sees: Callable[[Checkpoint], bool] | None = None) -> Registered:
    """Register one vehicle (see the module doc). The same vehicle at the same checkpoint, time and
    direction registered again is answered as stored (``created`` False)."""
    checkpoint = checkpoint_by_code(session, body.checkpoint, sees)
    plate = rules.normalise_plate(body.plate)
    problems = [] if plate else [FieldError("plate", "not a plate number (e.g. 宁A12345)", "plate")]
    at = as_aware(body.registered_at) if body.registered_at else now
    if at > now + CLOCK_SKEW:  # a typed year or day wrong: its loop would never fall due
        problems.append(FieldError("registered_at", "later than now", "not_future"))
    people = [_person(p, n, at, env, problems) for n, p in enumerate(body.people)]
    if body.direction == "in" and not any(p.role == "driver" for p in body.people):
        problems.append(FieldError("people", "a vehicle coming in needs its driver", "driver_missing"))
    if problems:
        raise Invalid("the registration has wrong values", problems)
    assert plate is not None
    digest = plate_digest(env.vault, plate)
    stored = session.scalars(select(Registration).where(
        Registration.checkpoint_id == checkpoint.id, Registration.plate_digest == digest,
        Registration.registered_at == at, Registration.direction == body.direction)).one_or_none()
    if stored is not None:
        return Registered(stored, checkpoint.code, travellers(session, stored.id), False)
    aboard = [rules.Aboard(p.role, p.health_code, p.tested_at) for p in people]
    row = Registration(checkpoint_id=checkpoint.id, direction=body.direction, registered_at=at,
                       registered_by=actor, source=source, plate_enc=env.vault.encrypt(plate),
                       plate_masked=rules.mask_plate(plate), plate_digest=digest, origin=body.origin,
                       destination=body.destination, cargo=body.cargo, flagged=sum(bool(p.flags) for p in people),
                       created_at=now)
    if body.direction == "left":
        row.outcome = "left"
    else:
        row.outcome = "turned_back" if body.turn_back or rules.turns_back(aboard, env.rules) else "passed"
        risk = rules.risk_origin(body.origin, at, epidemic.risk_windows(session), env.params, env.rules,
                                 resolve) if body.origin else None
        if risk is not None:
            row.risk_area, row.risk_level = risk.risk_area, risk.level
            if row.outcome == "passed":
                row.must_leave_by = rules.must_leave_by(at, env.rules)
    session.add(row)
    session.flush()
    for person in people:
        person.registration_id = row.id
    session.add_all(people)
    closed = None
    if row.must_leave_by is not None:
        row.loop_order = _open_loop(session, checkpoint, row, people, actor=actor, now=now, vault=env.vault)
    elif row.direction == "left":
        closed = _close_loop(session, row, actor=actor)
    session.flush()
    return Registered(row, checkpoint.code, people, True, closed)


def _person(body: PersonBody, n: int, at: datetime, env: Env, problems: list[FieldError]) -> Traveller:
    """The person as stored (personal data protected, flags by the rules); what is wrong with
    the values goes to ``problems``."""
    where = f"people.{n}"
    written = (body.health_code or "").strip()
    colour = COLOUR_WORDS.get(written, written.lower()) or None
    if colour is not None and colour not in env.rules.colours:
        problems.append(FieldError(f"{where}.health_code",
                                   f"not a health-code colour ({', '.join(env.rules.colours)})", "health_code"))
    tested = as_aware(body.tested_at) if body.tested_at else None
    if tested is not None and tested > at:
        problems.append(FieldError(f"{where}.tested_at", "after the registration", "tested_after"))
    try:
        protected = Protector(env.vault).columns(body.name, body.id_number, body.phone)
    except Invalid:  # the phone is not a phone number
        problems.append(FieldError(f"{where}.phone", "not a phone number (5 to 20 digits)", "phone"))
        protected = {}
    protected.pop("personal_digest", None)
    return Traveller(role=body.role, health_code=colour, tested_at=tested,
                     flags=rules.person_flags(rules.Aboard(body.role, colour, tested), at, env.rules), **protected)


def travellers(session: Session, registration_id: int) -> list[Traveller]:
    return list(session.scalars(select(Traveller).where(Traveller.registration_id == registration_id)
                                .order_by(Traveller.id)))


def _place(checkpoint: Checkpoint) -> tuple[str, str, str, None] | None:
    return (checkpoint.district, checkpoint.street or "", checkpoint.name, None) if checkpoint.district else None


def _unit_code(session: Session, checkpoint: Checkpoint) -> str | None:
    unit = session.get(Unit, checkpoint.unit_id)
    return unit.code if unit is not None and unit.active else None


def _driver(people: Iterable[Traveller]) -> str:
    driver = next((p for p in people if p.role == "driver"), None)
    return " ".join(filter(None, (driver.name_masked, driver.phone_masked))) if driver else "未登记"


def _local(moment: datetime) -> str:
    return to_local(moment).strftime("%Y-%m-%d %H:%M")


def _open_loop(session: Session, checkpoint: Checkpoint, row: Registration, people: list[Traveller], *,
               actor: str, now: datetime, vault: Vault) -> str:
    """The closed-loop task (闭环管理) of a vehicle let in from a risk area: an order for the
    checkpoint's unit to see it unloaded and gone by ``must_leave_by``."""
    assert row.must_leave_by is not None

    def text() -> str:
        return (f"卡口闭环管理任务：车辆 {row.plate_masked}（司机 {_driver(people)}）于 {_local(row.registered_at)} "
                f"经{checkpoint.name}驶入，来自{LEVELS.get(row.risk_level or '', row.risk_level)}地区"
                f"（{row.risk_area}，登记始发地 {row.origin}），目的地 {row.destination or '未登记'}，"
                f"货物 {row.cargo or '未登记'}。须于 {_local(row.must_leave_by)} 前卸货驶离，全程闭环管理；"
                "车辆驶离时请在卡口登记“驶离”。")

    order, _unit, _created = open_task(
        session, key=f"ckpt-loop:{row.id}", place=_place(checkpoint), category=LOOP_CATEGORY, urgency=LOOP_URGENCY,
        text=text, unit=lambda: _unit_code(session, checkpoint), note="卡口闭环管理：卡口责任单位",
        actor=actor, now=now, vault=vault)
    return order.number


def _close_loop(session: Session, left: Registration, *, actor: str) -> Registration | None:
    """A vehicle leaving closes its open loop (the latest one of its plate begun before it left, at
    any checkpoint); its orders record the departure."""
    open_loop = session.scalars(select(Registration).where(
        Registration.plate_digest == left.plate_digest, Registration.direction == "in",
        Registration.must_leave_by.is_not(None), Registration.left_at.is_(None),
        Registration.registered_at <= left.registered_at,
    ).order_by(Registration.registered_at.desc()).limit(1).with_for_update()).one_or_none()
    if open_loop is None:
        return None
    open_loop.left_at, open_loop.left_registration_id = left.registered_at, left.id
    late = open_loop.must_leave_by is not None and left.registered_at >= open_loop.must_leave_by
    note = f"车辆 {left.plate_masked} 已于 {_local(left.registered_at)} 登记驶离" + ("（已超时）" if late else "")
    for number in filter(None, (open_loop.loop_order, open_loop.warning_order)):
        order = get_order(session, number)
        record_event(session, order, LEFT_EVENT, actor=actor, at=left.registered_at, from_status=order.status,
                     to_status=order.status, note=note,
                     data={"registration": left.id, "left_at": left.registered_at.isoformat(), "late": late})
    return open_loop


# -- the overdue check --------------------------------------------------------------------------------------


@dataclass
class Warned:
    registration: int
    number: str
    created: bool


def check_overdue(session: Session, env: Env, *, actor: str, now: datetime, limit: int = 500) -> list[Warned]:
    """A warning order for every vehicle still inside its closed loop at or after its
    ``must_leave_by`` (at most ``limit`` a call: the worker comes back for the rest). A
    registration warned already is not looked at again, and the order's ``external_id``
    (``ckpt-overdue:<registration>``) makes a second opening of the same warning return the first."""
    due = session.scalars(select(Registration).where(
        Registration.must_leave_by.is_not(None), Registration.must_leave_by <= now,
        Registration.left_at.is_(None), Registration.warning_order.is_(None),
    ).order_by(Registration.must_leave_by, Registration.id).limit(limit).with_for_update(skip_locked=True)).all()
    warned = []
    for row in due:
        if not rules.overdue(row.must_leave_by, row.left_at, now):
            continue
        checkpoint = session.get(Checkpoint, row.checkpoint_id)
        assert checkpoint is not None and row.must_leave_by is not None

        def text(row: Registration = row, checkpoint: Checkpoint = checkpoint) -> str:
            return (f"卡口闭环超时预警：车辆 {row.plate_masked}（司机 {_driver(travellers(session, row.id))}）"
                    f"于 {_local(row.registered_at)} 经{checkpoint.name}驶入，来自{row.risk_area}，"
                    f"应于 {_local(row.must_leave_by)} 前驶离，至 {_local(now)} 仍未登记驶离。"
                    f"请立即核查车辆及人员去向，落实管控并反馈。闭环任务工单：{row.loop_order or '无'}。")

        order, _unit, created = open_task(
            session, key=f"ckpt-overdue:{row.id}", place=_place(checkpoint), category=WARNING_CATEGORY,
            urgency=WARNING_URGENCY, text=text, unit=lambda checkpoint=checkpoint: _unit_code(session, checkpoint),
            note="卡口闭环超时：卡口责任单位核查", actor=actor, now=now, vault=env.vault)
        row.warning_order, row.warned_at = order.number, now
        warned.append(Warned(row.id, order.number, created))
    session.flush()
    return warned


# -- a bulk file ---------------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    rows: int = 0
    added: int = 0
    existed: int = 0
    loops: int = 0  # closed-loop tasks opened
    flagged: int = 0  # people flagged
    bad: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "added": self.added, "existed": self.existed, "loops": self.loops,
                "flagged": self.flagged,
                "bad": [{"row": b.row, "message": b.message, "fields": b.fields} for b in self.bad]}


def import_file(session: Session, env: Env, path: Path, *, actor: str, now: datetime,
                sees: Callable[[Checkpoint], bool] | None = None) -> ImportReport:
    """Register every good row of a CSV/JSON Lines/.xlsx file (one vehicle a row: the columns are
    the API's fields, the driver's as ``driver_<field>``, passengers' as ``passenger<N>_<field>``);
    every bad row is named with its reasons and stored nothing. Each row in a savepoint, so a row
    the database refuses leaves the others. Never commits."""
    report = ImportReport()
    for number, values in tabular.read_rows(path, required=FILE_REQUIRED):
        report.rows += 1
        if isinstance(values, RowError):
            report.bad.append(values)
            continue
        given, prefixes = _row_body(values)
        try:
            body = RegistrationBody.model_validate(given)
            with session.begin_nested():
                done = register(session, env, body, actor=actor, now=now, source="file", sees=sees)
        except ValidationError as error:
            columns = [_column(tuple(e["loc"]), prefixes) for e in error.errors()]
            report.bad.append(RowError(number, "; ".join(f"{c}: {e['msg']}" for c, e in zip(columns, error.errors(),
                                                                                              strict=True)), columns))
            continue
        except (Invalid, NotFound) as error:
            columns = [_column(tuple(e.field.split(".")), prefixes) for e in error.errors]
            said = "; ".join(f"{c}: {e.message}" for c, e in zip(columns, error.errors, strict=True))
            report.bad.append(RowError(number, said or error.detail, columns))
            continue
        report.added += done.created
        report.existed += not done.created
        report.loops += done.created and done.registration.loop_order is not None
        report.flagged += done.registration.flagged if done.created else 0
    return report


def _row_body(values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A file's row as the API's body (words a spreadsheet uses turned into the API's values), and
    the column prefix of each of its people, to name a wrong value's column."""
    def text(name: str) -> Any:
        value = values.get(name)
        return value.strip() if isinstance(value, str) else value

    direction = text("direction")
    body: dict[str, Any] = {
        "checkpoint": text("checkpoint"), "plate": text("plate"), "registered_at": text("registered_at"),
        "direction": DIRECTION_WORDS.get(direction, direction) if direction else "in",
        "origin": text("origin"), "destination": text("destination"), "cargo": text("cargo"),
        "turn_back": str(text("turn_back") or "").lower() in YES_WORDS}
    people, prefixes = [], []
    for role, prefix in [("driver", "driver_")] + [("passenger", f"passenger{n}_") for n in range(1, MAX_PEOPLE)]:
        person = {name: text(prefix + name) for name in PERSON_FIELDS}
        if any(v is not None for v in person.values()):
            people.append({"role": role, **{k: v for k, v in person.items() if v is not None}})
            prefixes.append(prefix)
    body["people"] = people
    return {k: v for k, v in body.items() if v is not None}, prefixes


def _column(loc: tuple[Any, ...], prefixes: list[str]) -> str:
    """A field's place in a body as the file's column: ``people.0.phone`` → ``driver_phone``."""
    if len(loc) >= 3 and loc[0] == "people" and str(loc[1]).isdigit() and int(loc[1]) < len(prefixes):
        return f"{prefixes[int(loc[1])]}{loc[2]}"
    return "driver_name" if loc == ("people",) else str(loc[0]) if loc else "row"


# -- reads for the console ---------------------------------------------------------------------------------


def counted(session: Session, since: datetime, until: datetime,
            sees: Callable[[Checkpoint], bool] | None = None) -> list[rules.Counted]:
    """What the registrations (and warnings) in [since, until) add to the counts."""
    rows = session.execute(select(Registration, Checkpoint).join(Checkpoint, Checkpoint.id == Registration.checkpoint_id)
                           .where(or_(Registration.registered_at.between(since, until),
                                      Registration.warned_at.between(since, until)))).all()
    return [rules.Counted(c.code, r.registered_at, r.direction, r.outcome, r.flagged, r.warned_at)
            for r, c in rows if sees is None or sees(c)]


def open_loops(session: Session, sees: Callable[[Checkpoint], bool] | None = None,
               limit: int = 200) -> list[tuple[Registration, str]]:
    """Vehicles still inside their closed loop, the earliest due first."""
    rows = session.execute(select(Registration, Checkpoint).join(Checkpoint, Checkpoint.id == Registration.checkpoint_id)
                           .where(Registration.must_leave_by.is_not(None), Registration.left_at.is_(None))
                           .order_by(Registration.must_leave_by, Registration.id).limit(limit)).all()
    return [(r, c.code) for r, c in rows if sees is None or sees(c)]
