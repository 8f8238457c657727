"""Untested residents become work orders: one per building for a date range, on the hotline's
own loop (created through intake, dispatched to the grid's unit, deadlines from the SLA policy).

- **One order per building** (or per compound, for residents without a building) with
  present residents untested from S to U (coverage, formats §7), channel ``warning``,
  category ``EPI.TEST``, urgency ``sub_urgent``; the SLA policy ``epidemic_untested``
  (``sla/policies.toml``) gives it 2 h to respond and 12 h to resolve, around the clock.
- **The text** names the place, the range and the count, and lists the people masked
  (张*一 2单元301 138****0101), at most ``LISTED`` of them (the rest are counted: the full
  list is ``cityline epidemic coverage --untested``).
- **Dispatched** to the unit of the grid most of the building's untested residents belong
  to (``grids.unit_code``); when there is none (no grid, no unit, or not an active unit),
  to the street office of the building's street; when there is none either, the order
  waits for a dispatcher.
- **Idempotent** per range and building: the order's ``external_id`` is
  ``epi-untested:S:U:`` and a digest of the place. Running the same range again creates
  nothing; a building that already has its order for the range keeps it as it is, even
  when more residents have become untested since (they are in the next range's order).
- The order goes through ``intake.service.create_order`` like any other, so an order from a
  sealed or controlled zone is marked and raised there too.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityline.accounts.models import Unit
from cityline.epidemic import ledger, service
from cityline.epidemic.rules import Person
from cityline.geo.models import Grid
from cityline.intake.service import create_order, find_by_external_id
from cityline.orders.models import Order
from cityline.orders.schemas import OrderCreate
from cityline.orders.service import move_order
from cityline.privacy import Vault

CATEGORY, CHANNEL, URGENCY, KIND = "EPI.TEST", "warning", "sub_urgent", "help"
LISTED = 200  # people named in one order's text; the text stays well inside its 20,000 characters

Building = tuple[str, str, str, str | None]  # district, street, compound, building


@dataclass
class Task:
    number: str
    place: Building
    untested: int
    unit: str | None
    created: bool

    def as_dict(self) -> dict:
        district, street, compound, building = self.place
        return {"number": self.number, "district": district, "street": street, "compound": compound,
                "building": building, "untested": self.untested, "unit": self.unit, "created": self.created}


@dataclass
class TaskReport:
    since: date
    until: date
    tasks: list[Task] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(),
                "created": sum(t.created for t in self.tasks), "existed": sum(not t.created for t in self.tasks),
                "undispatched": sum(t.created and t.unit is None for t in self.tasks),
                "orders": [t.as_dict() for t in self.tasks]}


def external_id(since: date, until: date, place: Building) -> str:
    digest = hashlib.sha256("\x1f".join(p or "" for p in place).encode()).hexdigest()[:24]
    return f"epi-untested:{since.isoformat()}:{until.isoformat()}:{digest}"


def untested_tasks(session: Session, env: service.Env, since: date, until: date, *, actor: str, now: datetime,
                   vault: Vault, scope: ledger.PersonScope | None = None) -> TaskReport:
    """One order per building with present residents untested from ``since`` to ``until``
    (within ``scope``: the caller's reach), created unless the range's order for the building
    exists. Never commits."""
    found = service.coverage(session, env, since, until, untested=True, scope=scope)
    buildings: dict[Building, list[Person]] = {}
    for person in found.untested:
        buildings.setdefault((person.district, person.street, person.compound, person.building), []).append(person)
    report = TaskReport(since, until)
    for place, persons in buildings.items():
        order, unit, created = open_task(
            session, key=external_id(since, until, place), place=place, category=CATEGORY, urgency=URGENCY,
            text=lambda place=place, persons=persons: _text(session, place, persons, since, until),
            unit=lambda place=place, persons=persons: responsible_unit(session, place, persons),
            note="核酸未检人员排查：网格责任单位", actor=actor, now=now, vault=vault)
        report.tasks.append(Task(order.number, place, len(persons), unit, created))
    return report


def open_task(session: Session, *, key: str, place: Building | None, category: str, urgency: str,
              text: Callable[[], str], unit: Callable[[], str | None], note: str, actor: str, now: datetime,
              vault: Vault) -> tuple[Order, str | None, bool]:
    """The one way an epidemic finding becomes a work order (untested residents, a case's tracing,
    a contact's or an arrival's control): the order with ``key`` as its external_id unless it
    exists, created through intake on channel ``warning`` (so zones mark it and the SLA policy
    for its category and urgency gives its deadlines), then dispatched to ``unit()`` when there is
    one. Returns (order, its unit, created); the text and the unit are worked out only for a new
    order."""
    existing = find_by_external_id(session, key)
    if existing is not None:
        held = session.get(Unit, existing.unit_id) if existing.unit_id else None
        return existing, held.code if held else None, False
    data = OrderCreate(text=text(), channel=CHANNEL, external_id=key, kind=KIND, category=category, urgency=urgency,
                       address="".join(filter(None, place)) if place else None,
                       district=place[0] if place else None, street=place[1] if place else None)
    # The place is the ledger's or unknown, never read from the text: it names other places (where
    # an arrival came from, the case's venues).
    order, created = create_order(session, data, actor=actor, now=now, vault=vault, route=False, guess_place=False)
    chosen = unit() if created else None
    if chosen:
        move_order(session, order.number, "dispatch", {"unit": chosen, "note": note}, actor=actor, now=now)
    return order, chosen, created


def responsible_unit(session: Session, place: Building, persons: list[Person]) -> str | None:
    """The active unit of the grid most of them belong to (the first grid code among equals),
    else the street office of the place's street, else None."""
    active = {code for (code,) in session.execute(select(Unit.code).where(Unit.active))}
    grids = Counter(p.grid for p in persons if p.grid)
    units = dict(session.execute(select(Grid.code, Grid.unit_code).where(Grid.code.in_(list(grids)))).all())
    for grid, _count in sorted(grids.items(), key=lambda item: (-item[1], item[0])):
        if units.get(grid) in active:
            return units[grid]
    return session.scalar(select(Unit.code).where(Unit.active, Unit.kind == "street_office",
                                                  Unit.district == place[0], Unit.street == place[1])
                          .order_by(Unit.code).limit(1))


def _text(session: Session, place: Building, persons: list[Person], since: date, until: date) -> str:
    """The order's text: where, which days, how many, and who (masked)."""
    rows = {r.person_id: r for r in service.residents(session, [p.person_id for p in persons[:LISTED]])}
    lines = []
    for person in persons[:LISTED]:
        row = rows.get(person.person_id)
        lines.append(" ".join(filter(None, (
            row.name_masked if row else None, "".join(filter(None, (person.unit, person.room))) or None,
            row.phone_masked if row else None))) or person.person_id)
    more = f"（另有{len(persons) - LISTED}人未列出，完整名单见未检人员清单）" if len(persons) > LISTED else ""
    period = since.isoformat() if since == until else f"{since.isoformat()}至{until.isoformat()}"
    return (f"核酸检测排查：{''.join(filter(None, place))}在住居民{len(persons)}人{period}未做核酸检测，"
            f"请网格及时上门督促检测或安排上门采样，并反馈结果。名单：{'；'.join(lines)}{more}")
