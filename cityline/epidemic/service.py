"""Epidemic work through a session: cases and risk areas, coverage, zones, arrivals, passes.

Never commits: the command or request that calls it owns the transaction. The
rules themselves are in ``rules.py`` / ``places.py``; the large reads in
``queries.py``; contact tracing in ``tracing.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from cityline.accounts.service import audit
from cityline.config import Settings, get_settings
from cityline.epidemic import codes, ledger, queries, tracing
from cityline.epidemic.areas import Area, resolve
from cityline.epidemic.facts import FactStore, Written
from cityline.epidemic.models import Case, Pass, Resident, RiskArea, Zone
from cityline.epidemic.places import Arrival, RiskWindow, ZoneRow, zones
from cityline.epidemic.rules import (
    CaseRecord,
    Coverage,
    Params,
    contact_cases,
    decide_pass,
    pass_status,
    revokes,
)
from cityline.errors import NotFound, RowError
from cityline.privacy import Vault


@dataclass
class Env:
    """What the epidemic services need besides a session: the fact store, the rules'
    parameters (from settings) and the vault."""

    store: FactStore
    params: Params
    vault: Vault

    @property
    def pass_key(self) -> bytes:
        return self.vault.derive_key(codes.KEY_PURPOSE)


def params_from(settings: Settings) -> Params:
    return Params(
        exposure=timedelta(hours=settings.epidemic_exposure_hours),
        visit=timedelta(minutes=settings.epidemic_visit_minutes),
        overlap=timedelta(minutes=settings.epidemic_overlap_minutes),
        seat_rows=settings.epidemic_seat_rows, contact_days=settings.epidemic_contact_days,
        zone_days=settings.epidemic_zone_days, arrival_days=settings.epidemic_arrival_days,
        pass_test=timedelta(hours=settings.epidemic_pass_test_hours),
        pass_valid=timedelta(hours=settings.epidemic_pass_valid_hours), timezone=settings.timezone,
        query_memory_mb=settings.epidemic_query_memory_mb, engine=settings.analytics_engine)


def env_for(vault: Vault, settings: Settings | None = None) -> Env:
    settings = settings or get_settings()
    return Env(FactStore(settings.data_dir / "epidemic", settings.timezone), params_from(settings), vault)


# -- cases and risk areas (imports) ---------------------------------------------------------------


CASE_FIELDS = ("reported_at", "onset_at", "sampled_at", "kind")


def upsert_cases(session: Session, rows: Sequence[dict[str, Any]], now: datetime) -> Written:
    written = Written()
    stored = {c.person_id: c for c in session.scalars(
        select(Case).where(Case.person_id.in_([r["person_id"] for r in rows])))}
    new = []
    for row in rows:
        values = {f: row.get(f) for f in CASE_FIELDS}
        old = stored.get(row["person_id"])
        if old is None:
            new.append({"person_id": row["person_id"], **values, "created_at": now, "updated_at": now})
        elif all(getattr(old, f) == values[f] for f in CASE_FIELDS):
            written.unchanged += 1
        else:
            for name, value in values.items():
                setattr(old, name, value)
            old.updated_at = now
            written.updated += 1
    if new:
        session.execute(insert(Case), new)
    written.added = len(new)
    session.flush()
    return written


def upsert_risk_areas(session: Session, rows: Sequence[dict[str, Any]], now: datetime) -> tuple[Written, list[RowError]]:
    """Risk areas by (area, from); a name that resolves to no single division is refused."""
    written, bad = Written(), []
    keyed = {}
    for row in rows:
        where = resolve(row["area"])
        if where is None:
            bad.append(RowError(row["_row"], f"area '{row['area']}' does not name one administrative division "
                                             "(write it from the province or city down, e.g. 湖北省武汉市江汉区)"))
            continue
        keyed[(row["area"], row["from"])] = {"level": row["level"], "to_date": row.get("to"),
                                             **dict(zip(("province", "city", "district", "street", "rest"),
                                                        where.levels(), strict=True))}
    names = {a for a, _ in keyed}
    stored = {(r.area, r.from_date): r for r in session.scalars(select(RiskArea).where(RiskArea.area.in_(names)))}
    for (area, since), values in keyed.items():
        old = stored.get((area, since))
        if old is None:
            session.add(RiskArea(area=area, from_date=since, created_at=now, updated_at=now, **values))
            written.added += 1
        elif all(getattr(old, k) == v for k, v in values.items()):
            written.unchanged += 1
        else:
            for name, value in values.items():
                setattr(old, name, value)
            old.updated_at = now
            written.updated += 1
    session.flush()
    return written, bad


def case_records(session: Session, person_ids: Iterable[str] | None = None) -> list[CaseRecord]:
    query = select(Case)
    if person_ids is not None:
        query = query.where(Case.person_id.in_(list(person_ids)))
    return [CaseRecord(c.person_id, c.reported_at, c.onset_at, c.sampled_at) for c in session.scalars(query)]


def risk_windows(session: Session) -> list[RiskWindow]:
    return [RiskWindow(r.area, r.level, r.from_date, r.to_date,
                       Area(r.province, r.city, r.district, r.street, r.rest))
            for r in session.scalars(select(RiskArea).order_by(RiskArea.area, RiskArea.from_date))]


# -- coverage, zones, arrivals ----------------------------------------------------------------------


def coverage(session: Session, env: Env, since: date, until: date, *, untested: bool = False,
             scope: ledger.PersonScope | None = None) -> Coverage:
    path = ledger.snapshot(session, env.store)
    return queries.coverage(env.store, path, since, until, env.params, untested=untested, scope=scope)


def latest_test_day(env: Env, until: date) -> date | None:
    """The latest local day, up to ``until``, with stored tests (a page's default dates)."""
    return max((date.fromisoformat(e["day"]) for e in env.store.entries("tests", None, until)), default=None)


def latest_tested_day(session: Session, env: Env, place: dict[str, str], until: date,
                      days: int = 14) -> date | None:
    """The latest day, of the ``days`` up to ``until``, on which a present resident of ``place``
    was tested (a coverage page whose dates found no test there points to it)."""
    path = ledger.snapshot(session, env.store)
    return queries.latest_tested_day(env.store, path, place, until - timedelta(days=days - 1), until, env.params)


def compute_zones(session: Session, env: Env, day: date) -> list[ZoneRow]:
    first = day - timedelta(days=env.params.zone_days)
    start, end = env.params.day_start(first), env.params.day_start(day + timedelta(days=1))
    cases = [CaseRecord(c.person_id, c.reported_at, c.onset_at, c.sampled_at) for c in session.scalars(
        select(Case).where(Case.reported_at >= start, Case.reported_at < end))]
    if not cases:  # no zones, and no need to bring the ledger's snapshot up to date
        return []
    homes = {p.person_id: p for p in ledger.people(session, [c.person_id for c in cases])}
    counts = queries.place_counts(ledger.snapshot(session, env.store),
                                  {(p.district, p.street) for p in homes.values()}, env.params)
    return zones(cases, homes, counts, day, env.params)


def save_zones(session: Session, day: date, rows: Sequence[ZoneRow], now: datetime) -> None:
    """Publish the zones of ``day`` (replacing what was published for it before)."""
    session.execute(delete(Zone).where(Zone.day == day))
    for z in rows:
        session.add(Zone(day=day, level=z.level, district=z.district, street=z.street, compound=z.compound,
                         building=z.building, population=z.population, cases=list(z.cases), computed_at=now))
    session.flush()


def risk_arrivals(session: Session, env: Env, day: date) -> list[Arrival]:
    return queries.arrivals(env.store, risk_windows(session), day, env.params, resolve)


# -- passes -----------------------------------------------------------------------------------------


@dataclass
class PassResult:
    person: str
    issued: bool
    code: str | None = None
    valid_until: datetime | None = None
    reason: str | None = None
    detail: str | None = None
    serial: int | None = None  # the pass's row


def remembered(results: Sequence[PassResult]) -> list[dict[str, Any]]:
    """Results as an idempotency key keeps them: without the codes, which are signed again."""
    return [{"person": r.person, "issued": r.issued, "serial": r.serial, "reason": r.reason, "detail": r.detail,
             "valid_until": r.valid_until.isoformat() if r.valid_until else None} for r in results]


def recalled(env: Env, kept: Sequence[dict[str, Any]]) -> list[PassResult]:
    """The results :func:`remembered` kept, each issued pass with its code again."""
    results = []
    for r in kept:
        until = datetime.fromisoformat(r["valid_until"]) if r["valid_until"] else None
        code = codes.sign(env.pass_key, r["serial"], r["person"], until) if r["issued"] and until else None
        results.append(PassResult(r["person"], r["issued"], code, until, r["reason"], r["detail"], r["serial"]))
    return results


def building_persons(session: Session, district: str, street: str, compound: str, building: str | None) -> list[str]:
    """Everyone in the ledger at a building (or a compound's residents without a building)."""
    query = select(Resident.person_id).where(Resident.district == district, Resident.street == street,
                                              Resident.compound == compound)
    query = query.where(Resident.building == building) if building else query.where(Resident.building.is_(None))
    return list(session.scalars(query.order_by(Resident.person_id)))


def issue_passes(session: Session, env: Env, persons: Sequence[str], at: datetime, *, actor: str) -> list[PassResult]:
    """Decide and issue a pass for each person at ``at`` (see ``rules.decide_pass``); every
    decision is audited, each pass recorded."""
    tests = queries.tests_of(env.store, persons, at, env.params)
    cases = {c.person_id: c.reported_at for c in case_records(session, persons)}
    recent = contact_cases(case_records(session), at, env.params)
    contacts = tracing.contact_index(session, env, recent, among=set(persons))
    results = []
    key = env.pass_key
    for person in persons:
        decision = decide_pass(person, tests, case_reported_at=cases.get(person), contact_of=contacts.get(person, ()),
                               at=at, params=env.params)
        if not decision.issued:
            audit(session, actor, "pass_refused", f"person:{person}", reason=decision.reason, at=at.isoformat())
            results.append(PassResult(person, False, reason=decision.reason, detail=decision.detail))
            continue
        row = Pass(person_id=person, issued_at=at, sampled_at=decision.sampled_at,
                   valid_until=decision.valid_until, issued_by=actor)
        session.add(row)
        session.flush()
        audit(session, actor, "pass_issued", f"pass:{row.id}", person=person,
              valid_until=decision.valid_until.isoformat())
        results.append(PassResult(person, True, codes.sign(key, row.id, person, decision.valid_until),
                                  decision.valid_until, serial=row.id))
    return results


def verify_pass(session: Session, env: Env, code: str, at: datetime, *, actor: str) -> dict[str, Any]:
    """``valid`` / ``expired`` / ``revoked`` / ``invalid`` at ``at``. The signature alone tells a
    genuine code; revocation looks at the data (a positive sampled, or a case reported, at or
    before ``at``) and at the pass's own record. Audited, and a revocation found here is
    recorded."""
    claims = codes.read(env.pass_key, code)
    if claims is None:
        audit(session, actor, "pass_verified", None, status="invalid")
        return {"status": "invalid", "person": None, "valid_until": None}
    row = stored_pass(session, claims)
    if row is None:  # signed, but not by this database
        audit(session, actor, "pass_verified", f"pass:{claims.serial}", status="invalid")
        return {"status": "invalid", "person": None, "valid_until": None}
    tests = queries.tests_of(env.store, [claims.person], at, env.params)
    case = session.scalar(select(Case.reported_at).where(Case.person_id == claims.person))
    why = revokes(tests, case, claims.person, at)
    if why is None and row.revoked_at is not None and row.revoked_at <= at:
        why = row.revoked_reason or "revoked"
    if why and row.revoked_at is None:
        row.revoked_at, row.revoked_reason = at, why
        audit(session, actor, "pass_revoked", f"pass:{row.id}", reason=why, person=claims.person)
    status = pass_status(claims.valid_until, at, revoked=why is not None)
    audit(session, actor, "pass_verified", f"pass:{row.id}", status=status, person=claims.person)
    return {"status": status, "person": claims.person, "valid_until": claims.valid_until, "reason": why}


def stored_pass(session: Session, claims: codes.Claims) -> Pass | None:
    """The pass a genuine code stands for, or None when this database issued no such pass."""
    row = session.get(Pass, claims.serial)
    return row if row is not None and row.person_id == claims.person else None


def revoke_passes(session: Session, since: dict[str, datetime], reason: str, *, actor: str, now: datetime) -> int:
    """Revoke the passes still in force for people who tested positive or became a case at the
    given moments (a pass that ran out before then is left alone). Audited one by one."""
    if not since:
        return 0
    count = 0
    for row in session.scalars(select(Pass).where(Pass.person_id.in_(list(since)), Pass.revoked_at.is_(None))):
        if row.valid_until > since[row.person_id]:
            row.revoked_at, row.revoked_reason = now, reason
            audit(session, actor, "pass_revoked", f"pass:{row.id}", reason=reason, person=row.person_id)
            count += 1
    session.flush()
    return count


# -- a resident, masked or revealed -----------------------------------------------------------------


def resident(session: Session, person_id: str) -> Resident:
    found = session.scalar(select(Resident).where(Resident.person_id == person_id))
    if found is None:
        raise NotFound(f"no resident {person_id}")
    return found


def residents(session: Session, person_ids: Iterable[str]) -> list[Resident]:
    """The residents named, in the order of their places (building, unit, room); the caller
    decides who may see them (``ledger.person_scope``) and shows only the masked columns."""
    wanted = list(dict.fromkeys(person_ids))
    found: list[Resident] = []
    for start in range(0, len(wanted), 5000):  # a street's list stays under SQLite's bound-parameter limit
        found += session.scalars(select(Resident).where(Resident.person_id.in_(wanted[start:start + 5000])))
    return sorted(found, key=lambda r: (r.compound, r.building or "", r.unit or "", r.room or "", r.person_id))


def reveal(session: Session, vault: Vault, person_id: str, *, actor: str, reason: str) -> dict[str, str | None]:
    """A resident's name, ID number and phone in full; audited with the reason given."""
    row = resident(session, person_id)
    audit(session, actor, "reveal_resident", f"person:{person_id}", reason=reason)
    return {"person": person_id, "name": vault.reveal(row.name_enc) if row.name_enc else None,
            "id_number": vault.reveal(row.id_number_enc) if row.id_number_enc else None,
            "phone": vault.reveal(row.phone_enc) if row.phone_enc else None}
