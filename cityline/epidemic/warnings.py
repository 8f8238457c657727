"""Warnings on the loop: each case opens a tracing order (流调工单) on the hour chain, each
tier-1 contact and each risk-area arrival becomes a control task (管控任务), through the same
path as the untested residents' orders (``tasks.open_task``: intake, channel ``warning``,
dispatched to the grid's unit or the street office, deadlines from the SLA policy).

- **Cases**: those reported in the contact window up to the end of the local day D (the
  ``contact_days`` before it, as the pass rule counts them: an older case has no contact left to
  control and would only open an order late from its first minute). One order per case person
  (``epi-trace:<person>``), urgent, category ``EPI.ISOLATION``: the SLA policy
  ``epidemic_tracing`` gives it the milestones 0+1+2+8+12 (``sla/policies.toml``). The chain runs
  from the order's receipt — when the centre's loop learns of the case, i.e. this run: run the
  warnings right after each import of cases. When the order is dispatched at once, the run records
  its first milestone (``started``: the tracing is in the responsible unit's hands); an order no
  unit can be found for waits for a dispatcher and its supervisor hears at once that tracing has
  not started.
- **Tier-1 contacts** of those cases (``tracing.tier1_contacts``): one task per person
  (``epi-contact:<person>``) naming every case they are a contact of and how (同住, 同餐 …), sub-urgent,
  ``EPI.ISOLATION``: the policy ``epidemic_control``. A contact who is a case themself gets the
  tracing order only. A contact found later for another case keeps the one task: the new cases are
  added to it as a ``contact_cases`` event whose note names them (also when the task is closed
  already — the report tells, so a supervisor can reopen it), never a second task.
- **Risk-area arrivals** on D (``service.risk_arrivals``: the latest arrival per person): one task
  per person and trip (``epi-arrival:<person>:<digest of the trip>``).
- Running it again adds nothing; new data add only what is new. People are named masked
  (张*一, 138****0101), by their ledger id besides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityline.epidemic import ledger, service, tracing
from cityline.epidemic.models import Resident
from cityline.epidemic.places import Arrival
from cityline.epidemic.rules import CaseRecord, Contact, Person
from cityline.epidemic.tasks import Building, open_task, responsible_unit
from cityline.orders.models import Order, OrderEvent
from cityline.orders.service import move_order, record_event
from cityline.privacy import Vault
from cityline.timeutil import to_local

CATEGORY = "EPI.ISOLATION"
TRACING_URGENCY, CONTROL_URGENCY = "urgent", "sub_urgent"
STARTED = "started"  # the first milestone of epidemic_tracing, recorded when the order is dispatched
CASES_NAMED = "contact_cases"  # the event that says which cases a contact's task names
RELATIONS = {"household": "同住", "meal": "同餐", "workplace": "同工作场所", "venue": "同场所", "trip": "同乘"}
LEVELS = {"high": "高风险", "medium": "中风险", "low": "低风险"}


@dataclass
class WarningOrder:
    kind: str  # tracing | contact | arrival
    number: str
    person: str
    unit: str | None
    created: bool
    cases: list[str] = field(default_factory=list)
    added_cases: list[str] = field(default_factory=list)  # cases added to an existing contact task
    status: str = ""

    def as_dict(self) -> dict:
        return {"kind": self.kind, "number": self.number, "person": self.person, "unit": self.unit,
                "created": self.created, "cases": self.cases, "added_cases": self.added_cases,
                "status": self.status}


@dataclass
class WarningReport:
    day: date
    items: list[WarningOrder] = field(default_factory=list)

    def as_dict(self) -> dict:
        counts = {kind: {"created": sum(w.created for w in self.items if w.kind == kind),
                         "existed": sum(not w.created for w in self.items if w.kind == kind)}
                  for kind in ("tracing", "contact", "arrival")}
        counts["contact"]["updated"] = sum(bool(w.added_cases) for w in self.items if w.kind == "contact")
        return {"day": self.day.isoformat(), **counts,
                "undispatched": sum(w.created and w.unit is None for w in self.items),
                "orders": [w.as_dict() for w in self.items]}


def run_warnings(session: Session, env: service.Env, day: date, *, actor: str, now: datetime,
                 vault: Vault) -> WarningReport:
    """Tracing orders for the cases reported in the contact window up to ``day``, control tasks
    for their tier-1 contacts and for the risk-area arrivals on ``day``. Never commits."""
    end = env.params.day_start(day + timedelta(days=1))
    cases = sorted((c for c in service.case_records(session)
                    if end - timedelta(days=env.params.contact_days) <= c.reported_at < end),
                   key=lambda c: (c.reported_at, c.person_id))
    contacts = tracing.tier1_contacts(session, env, cases)
    arrivals = service.risk_arrivals(session, env, day)
    ids = {c.person_id for c in cases} | {c.person for c in contacts} | {a.person for a in arrivals}
    people = {p.person_id: p for p in ledger.people(session, ids)}
    names = {r.person_id: r for r in session.scalars(select(Resident).where(Resident.person_id.in_(list(ids))))}

    def who(person: str) -> str:
        row = names.get(person)
        masked = " ".join(filter(None, (row.name_masked, row.phone_masked))) if row else ""
        return f"{masked}（{person}）" if masked else person

    def where(person: str) -> str:
        found = people.get(person)
        return "".join(filter(None, (found.district, found.street, found.compound, found.building, found.unit,
                                     found.room))) if found else "不在居民台账，住址不明"

    report = WarningReport(day)
    for case in cases:
        report.items.append(_tracing_order(session, case, people.get(case.person_id), who, where,
                                           actor=actor, now=now, vault=vault))
    for person, found in _by_person(contacts, {c.person_id for c in cases}).items():
        report.items.append(_contact_task(session, person, found, people.get(person), who, where,
                                          actor=actor, now=now, vault=vault))
    for arrival in arrivals:
        report.items.append(_arrival_task(session, arrival, people.get(arrival.person), who, where,
                                          actor=actor, now=now, vault=vault))
    return report


def _place(person: Person | None) -> Building | None:
    return person.place if person else None


def _unit(session: Session, person: Person | None) -> str | None:
    return responsible_unit(session, person.place, [person]) if person else None


def _tracing_order(session: Session, case: CaseRecord, person: Person | None, who, where, *, actor: str,
                   now: datetime, vault: Vault) -> WarningOrder:
    def text() -> str:
        reported = to_local(case.reported_at).strftime("%Y-%m-%d %H:%M")
        return (f"流调工单：病例 {who(case.person_id)} 于 {reported} 报告，住址：{where(case.person_id)}。"
                "请按“0+1+2+8+12”小时链开展流行病学调查：立即启动；1小时内到人到位、落实管控；2小时内报告核心信息；"
                "8小时内排查密接并落实管控；12小时内形成完整流调报告。每完成一个节点请在工单中记录。")

    order, unit, created = open_task(
        session, key=f"epi-trace:{case.person_id}", place=_place(person), category=CATEGORY,
        urgency=TRACING_URGENCY, text=text, unit=lambda: _unit(session, person),
        note="流调工单：病例住址所在网格责任单位", actor=actor, now=now, vault=vault)
    if created and unit:
        move_order(session, order.number, "milestone", {"milestone": STARTED, "note": "已派发责任单位，启动流调"},
                   actor=actor, now=now)
    return WarningOrder("tracing", order.number, case.person_id, unit, created, [case.person_id], status=order.status)


def _by_person(contacts: Sequence[Contact], cases: set[str]) -> dict[str, list[Contact]]:
    """Each contact person (not a case themself) with their contacts, one per case (the first
    relation found for it: household before venues before trips, as the rules list them)."""
    found: dict[str, list[Contact]] = {}
    for contact in contacts:
        if contact.tier != 1 or contact.person in cases:
            continue
        mine = found.setdefault(contact.person, [])
        if all(c.case != contact.case for c in mine):
            mine.append(contact)
    return dict(sorted(found.items()))


def _named(contacts: Sequence[Contact], who) -> str:
    return "；".join(f"病例 {who(c.case)}（{RELATIONS.get(c.relation, c.relation)}）" for c in contacts)


def _contact_task(session: Session, person: str, contacts: list[Contact], resident: Person | None, who, where,
                  *, actor: str, now: datetime, vault: Vault) -> WarningOrder:
    def text() -> str:
        return (f"密接管控任务：{who(person)}，住址：{where(person)}，为以下病例的密切接触者：{_named(contacts, who)}。"
                "请1小时内联系到人，8小时内落实隔离管控（集中或居家隔离、健康监测），并反馈结果。")

    order, unit, created = open_task(
        session, key=f"epi-contact:{person}", place=_place(resident), category=CATEGORY, urgency=CONTROL_URGENCY,
        text=text, unit=lambda: _unit(session, resident), note="密接管控：住址所在网格责任单位",
        actor=actor, now=now, vault=vault)
    cases = [c.case for c in contacts]
    named = _cases_named(session, order)
    new = [c for c in contacts if c.case not in named]
    if new:  # a new task names them all; a task found again gets the new cases added to it
        note = None if created else f"新增关联病例：{_named(new, who)}"
        record_event(session, order, CASES_NAMED, actor=actor, at=now, from_status=order.status,
                     to_status=order.status, note=note,
                     data={"cases": [c.case for c in new], "relations": {c.case: c.relation for c in new}})
    added = [] if created else [c.case for c in new]
    return WarningOrder("contact", order.number, person, unit, created, cases, added, order.status)


def _cases_named(session: Session, order: Order) -> set[str]:
    rows = session.scalars(select(OrderEvent.data).where(OrderEvent.order_id == order.id,
                                                         OrderEvent.action == CASES_NAMED))
    return {case for data in rows for case in (data or {}).get("cases", [])}


def _arrival_task(session: Session, arrival: Arrival, resident: Person | None, who, where, *, actor: str,
                  now: datetime, vault: Vault) -> WarningOrder:
    trip = "|".join((arrival.mode, arrival.trip_no or "", arrival.arrived_at.isoformat()))
    key = f"epi-arrival:{arrival.person}:{hashlib.sha256(trip.encode()).hexdigest()[:16]}"

    def text() -> str:
        arrived = to_local(arrival.arrived_at).strftime("%Y-%m-%d %H:%M")
        return (f"风险地区来沪人员管控任务：{who(arrival.person)}，住址：{where(arrival.person)}，"
                f"于 {arrived} 乘 {arrival.mode} {arrival.trip_no or ''} 自 {arrival.from_area} 抵达，"
                f"来自{LEVELS.get(arrival.level, arrival.level)}地区（{arrival.risk_area}）。"
                "请1小时内联系到人，8小时内按规定落实隔离或健康监测并安排核酸检测，反馈结果。")

    order, unit, created = open_task(
        session, key=key, place=_place(resident), category=CATEGORY, urgency=CONTROL_URGENCY, text=text,
        unit=lambda: _unit(session, resident), note="风险地区来沪人员管控：住址所在网格责任单位",
        actor=actor, now=now, vault=vault)
    return WarningOrder("arrival", order.number, arrival.person, unit, created, status=order.status)

