"""HTTP for epidemic data: uploads of the six kinds, coverage, zones, arrivals, contacts,
cases, clusters and places of exposure, passes, and a resident's record (masked, or
revealed and audited).

Figures (coverage by building, zones) need ``epidemic:read``; anything person by person
needs ``epidemic:persons`` and shows only the people in the caller's reach
(``ledger.person_scope``: city-wide staff everyone, a grid worker the residents of
their grids). A resident outside the reach answers 404, exactly as a missing one.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile

from cityline.accounts.deps import Deps, deps
from cityline.db import read_transaction, transaction, utcnow
from cityline.epidemic import clustering, ledger, schemas, service, tracing
from cityline.epidemic import clusters as cluster_rules
from cityline.epidemic.importer import import_file
from cityline.epidemic.kinds import KINDS
from cityline.epidemic.rules import exposure_window
from cityline.errors import FieldError, Forbidden, Invalid, NotFound
from cityline.idempotency import service as idempotency
from cityline.idempotency.schemas import IdempotencyKeyHeader
from cityline.limits import Day as AnyDay
from cityline.timeutil import as_aware, to_local

router = APIRouter(prefix="/api/epidemic", tags=["epidemic"])
D = Annotated[Deps, Depends(deps)]
# Days cityline can turn into times (0001-01-01 in Shanghai is before year 1 in UTC: a 500).
Day = Annotated[AnyDay, Query(description="local date, YYYY-MM-DD")]
OnDay = Annotated[AnyDay, Query(alias="date", description="local date, YYYY-MM-DD")]
AsOf = Annotated[AnyDay | None, Query(alias="date", description="local date, YYYY-MM-DD (default: the latest report)")]


def env_of(d: Deps) -> service.Env:
    """The fact store and rules of this app (``app.state.epidemic_env``, else from settings)."""
    return getattr(d.app_state, "epidemic_env", None) or service.env_for(d.vault)


def _scope(d: Deps) -> ledger.PersonScope:
    with read_transaction(d.sessions) as session:
        return ledger.person_scope(session, d.principal)


def _visible_people(d: Deps, persons: list[str]) -> set[str]:
    """Which of ``persons`` the caller may see (visitors not in the ledger: city-wide staff only)."""
    scope = _scope(d)
    if scope.everyone:
        return set(persons)
    with read_transaction(d.sessions) as session:
        return {p.person_id for p in ledger.people(session, persons) if scope.sees(p.district, p.street, p.grid)}


@router.post("/passes/issue", responses={409: {"description": "the Idempotency-Key was used with another request"}})
def issue_passes(body: schemas.PassIssue, d: D, idempotency_key: IdempotencyKeyHeader = None) -> list[dict[str, Any]]:
    """Issue passes (one result per person, issued or why not); a building (or a compound's
    residents without one) may be named instead of, or beside, people. A retry with the same
    Idempotency-Key and body answers what the first request did, issuing nothing new."""
    d.require("epidemic:passes")
    at = as_aware(body.at) if body.at else utcnow()
    with read_transaction(d.sessions) as session:
        wanted = list(body.persons)
        if body.district and body.street and body.compound:
            wanted += service.building_persons(session, body.district, body.street, body.compound, body.building)
    wanted = list(dict.fromkeys(wanted))
    if not wanted:
        raise Invalid("name persons, or a district, street and compound", [FieldError("persons", "empty")])
    allowed = _visible_people(d, wanted)
    env = env_of(d)
    with transaction(d.sessions) as session:
        claimed = idempotency.reserve(session, idempotency_key, actor=d.actor, endpoint="POST /api/epidemic/passes/issue",
                                      request=body.model_dump(mode="json"), now=utcnow())
        if claimed and claimed.replay:
            return [schemas.issued(r) for r in service.recalled(env, claimed.answer)]
        results = service.issue_passes(session, env, [p for p in wanted if p in allowed], at, actor=d.actor)
        results += [service.PassResult(p, False, reason="outside_reach") for p in wanted if p not in allowed]
        if claimed:
            made = sum(r.issued for r in results)
            idempotency.complete(session, claimed, f"{made} passes issued", answer=service.remembered(results))
    return [schemas.issued(r) for r in results]


@router.post("/passes/verify")
def verify_pass(body: schemas.PassVerify, d: D) -> dict[str, Any]:
    """``valid``, ``expired``, ``revoked`` or ``invalid`` (audited)."""
    d.require("epidemic:verify")
    at = as_aware(body.at) if body.at else utcnow()
    with transaction(d.sessions) as session:
        return schemas.verified(service.verify_pass(session, env_of(d), body.code, at, actor=d.actor))


@router.post("/warnings")
def warnings(body: schemas.Warnings, d: D) -> dict[str, Any]:
    """Each case reported in the contact window up to ``day`` opens a tracing order on the hour
    chain; each tier-1 contact and each risk-area arrival on ``day`` gets a control task (a contact
    of several cases one task naming them all). Running it again adds nothing; new data add only
    what is new. The whole city's work: for callers whose reach is the whole city. (Declared
    before ``POST /{kind}``, the imports, which would take the path for a kind.)"""
    from cityline.epidemic.warnings import run_warnings

    d.require("epidemic:import")
    if not _scope(d).everyone:
        raise Forbidden("the warnings cover the whole city: they need a city-wide reach")
    now = utcnow()
    with transaction(d.sessions) as session:
        report = run_warnings(session, env_of(d), body.day or to_local(now).date(), actor=d.actor, now=now,
                              vault=d.vault)
    return report.as_dict()


@router.post("/{kind}")
def upload(kind: str, d: D, file: Annotated[UploadFile, File(description=".csv, .jsonl or .xlsx")]) -> dict[str, Any]:
    """Import a file of one kind (formats §6): the report names every refused row."""
    d.require("epidemic:import")
    if kind.replace("_", "-") not in KINDS:
        raise NotFound(f"no kind '{kind}'; use one of {', '.join(KINDS)}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / (Path(file.filename or "").name or "upload")  # the name only, never a path
        with path.open("wb") as handle:
            shutil.copyfileobj(file.file, handle)
        report = import_file(d.sessions, env_of(d), kind, path, actor=d.actor)  # BadFile: 422
    return report.as_dict()


@router.get("/coverage")
def coverage(d: D, since: Day, until: Day) -> list[dict[str, Any]]:
    """Test coverage of present residents by district, street, compound and building."""
    d.require("epidemic:read")
    with read_transaction(d.sessions) as session:
        found = service.coverage(session, env_of(d), since, until)
    return [schemas.coverage(row) for row in found.rows]


@router.get("/coverage/untested")
def untested(d: D, since: Day, until: Day) -> list[dict[str, Any]]:
    """Present residents in the caller's reach without a test sampled from ``since`` to ``until``."""
    d.require("epidemic:persons")
    scope = _scope(d)
    with read_transaction(d.sessions) as session:
        found = service.coverage(session, env_of(d), since, until, untested=True, scope=scope)
    return [schemas.untested(p) for p in found.untested]


@router.post("/tasks/untested")
def untested_tasks(body: schemas.UntestedTasks, d: D) -> dict[str, Any]:
    """One work order per building with residents (in the caller's reach) untested from
    ``since`` to ``until``, dispatched to the grid's unit. Idempotent by range and building:
    running it again answers the same orders as ``created: false`` and adds nothing."""
    from cityline.epidemic.tasks import untested_tasks as make_tasks

    d.require("epidemic:import")
    if body.until < body.since:
        raise Invalid("until is before since", [FieldError("until", "before since")])
    scope = _scope(d)
    with transaction(d.sessions) as session:
        report = make_tasks(session, env_of(d), body.since, body.until, actor=d.actor, now=utcnow(), vault=d.vault,
                            scope=scope)
    return report.as_dict()


@router.get("/zones")
def zones(d: D, day: OnDay) -> list[dict[str, Any]]:
    d.require("epidemic:read")
    with read_transaction(d.sessions) as session:
        return [schemas.zone(z) for z in service.compute_zones(session, env_of(d), day)]


@router.get("/arrivals")
def arrivals(d: D, day: OnDay) -> list[dict[str, Any]]:
    """The latest arrival from a medium/high-risk area of each person, in the caller's reach."""
    d.require("epidemic:persons")
    with read_transaction(d.sessions) as session:
        found = service.risk_arrivals(session, env_of(d), day)
    allowed = _visible_people(d, [a.person for a in found])
    return [schemas.arrival(a) for a in found if a.person in allowed]


@router.get("/command")
def command(d: D, day: OnDay) -> dict[str, Any]:
    """The commander's day, figures only: zones, cases and arrivals by district, coverage by
    street, the tracing orders' milestones within the caller's reach (``epidemic.command``)."""
    from cityline.epidemic.command import day_view
    from cityline.orders.api import reach_filter

    d.require("epidemic:read")
    with read_transaction(d.sessions) as session:
        return day_view(session, env_of(d), day, utcnow(), reach_filter(d))


@router.get("/contacts")
def contacts(d: D, case: Annotated[list[str] | None, Query(description="cases' person_id")] = None) -> list[dict[str, Any]]:
    d.require("epidemic:persons")
    env = env_of(d)
    with read_transaction(d.sessions) as session:
        cases = service.case_records(session, case or None)
        found = tracing.contacts(session, env, sorted(cases, key=lambda c: c.person_id))
    allowed = _visible_people(d, [c.person for c in found])
    return [schemas.contact(c) for c in found if c.person in allowed]


# -- cases, clusters, places of exposure ------------------------------------------------------------


def report_day(d: Deps, day: date | None) -> date:
    """``day``, else the local date of the latest case report, else today."""
    if day:
        return day
    with read_transaction(d.sessions) as session:
        return clustering.latest_report_day(session, env_of(d).params) or to_local(utcnow()).date()


def outbreak_on(d: Deps, day: date | None) -> clustering.Outbreak:
    """The cases of the span up to ``day`` (default: :func:`report_day`) with their contacts,
    clusters and places of exposure."""
    day = report_day(d, day)
    with read_transaction(d.sessions) as session:
        return clustering.outbreak(session, env_of(d), day)


def _records(d: Deps, persons: set[str]) -> dict[str, Any]:
    with read_transaction(d.sessions) as session:
        return {r.person_id: r for r in service.residents(session, persons)}


@router.get("/cases")
def cases(d: D, day: AsOf = None) -> list[dict[str, Any]]:
    """The cases reported in the 28 days up to ``date`` that the caller may see, latest first,
    with their place, contacts counted by tier and cluster."""
    d.require("epidemic:persons")
    found = outbreak_on(d, day)
    shown = _visible_people(d, [c.person_id for c in found.cases])
    rows = _records(d, shown)
    return [schemas.case_line(c, found.kinds[c.person_id], rows.get(c.person_id), found.contacts_of({c.person_id}),
                              found.cluster_of.get(c.person_id))
            for c in sorted(found.cases, key=lambda c: (c.reported_at, c.person_id), reverse=True)
            if c.person_id in shown]


@router.get("/cases/{person_id}")
def case(person_id: str, d: D, day: AsOf = None) -> dict[str, Any]:
    """A case: its exposure window, its tier-1 contacts (relation, overlap, evidence) and
    tier-2 contacts (via whom), those in the caller's reach named (masked), the others counted;
    and its cluster. A case reported after ``date`` or before its span is judged on its own
    report's day."""
    d.require("epidemic:persons")
    found = outbreak_on(d, day)
    if found.case(person_id) is None:
        with read_transaction(d.sessions) as session:
            record = service.case_records(session, [person_id])
        if record:
            found = outbreak_on(d, env_of(d).params.local_date(record[0].reported_at))
    record = found.case(person_id)
    if record is None or person_id not in _visible_people(d, [person_id]):
        raise NotFound(f"no case {person_id}")
    mine = found.contacts_of({person_id})
    shown = _visible_people(d, [c.person for c in mine])
    rows = _records(d, shown | {person_id})
    start, end = exposure_window(record, env_of(d).params)
    cases_now = {c.person_id for c in found.cases}
    contacts = [schemas.contact(c) | {"name": rows[c.person].name_masked if c.person in rows else None,
                                      "is_case": c.person in cases_now}
                for c in mine if c.person in shown]
    return schemas.case_line(record, found.kinds[person_id], rows.get(person_id), mine,
                             found.cluster_of.get(person_id)) | {
        "day": found.day.isoformat(), "window": {"start": schemas.when(start), "end": schemas.when(end)},
        "contacts": contacts, "hidden": len({c.person for c in mine} - shown)}


def _seen_clusters(d: Deps, found: clustering.Outbreak) -> tuple[list[cluster_rules.Cluster], set[str]]:
    """The clusters with a case the caller may see, and the people of them the caller may see."""
    people = {c.person_id for c in found.cases} | {c.person for c in found.contacts}
    shown = _visible_people(d, sorted(people))
    return [c for c in found.clusters if shown & set(c.person_ids)], shown


def _places_of(found: clustering.Outbreak, cluster: cluster_rules.Cluster) -> list[str]:
    return [p.venue_code for p in found.places if set(p.cases) & set(cluster.person_ids)]


@router.get("/clusters")
def clusters(d: D, day: AsOf = None) -> list[dict[str, Any]]:
    """Clusters (风险群) of cases linked as tier-1 contacts, largest first, then fastest growing;
    only those with a case in the caller's reach."""
    d.require("epidemic:persons")
    found = outbreak_on(d, day)
    seen, shown = _seen_clusters(d, found)
    return [schemas.cluster(c, found.contacts_of(set(c.person_ids)), _places_of(found, c), shown) for c in seen]


@router.get("/clusters/{cluster_id}")
def cluster(cluster_id: str, d: D, day: AsOf = None) -> dict[str, Any]:
    """A cluster with its graph: cases and their tier-1 and tier-2 contacts as nodes (labels
    masked; people outside the caller's reach anonymous), links and contacts as edges."""
    d.require("epidemic:persons")
    found = outbreak_on(d, day)
    seen, shown = _seen_clusters(d, found)
    chosen = next((c for c in seen if c.id == cluster_id), None)
    if chosen is None:
        raise NotFound(f"no cluster {cluster_id} on {found.day.isoformat()}")
    contacts = found.contacts_of(set(chosen.person_ids))
    nodes, edges = cluster_rules.graph(chosen, contacts)
    labels = {p: r.name_masked or p for p, r in _records(d, {n.person for n in nodes} & shown).items()}
    return schemas.cluster(chosen, contacts, _places_of(found, chosen), shown) | {
        "day": found.day.isoformat(), "graph": schemas.graph(nodes, edges, labels, shown)}


@router.get("/exposure-places")
def exposure_places(d: D, day: AsOf = None) -> list[dict[str, Any]]:
    """Venues where visits of two or more cases overlapped (≥ 15 minutes inside a window);
    only those with a case in the caller's reach, the most cases first."""
    d.require("epidemic:persons")
    found = outbreak_on(d, day)
    shown = _visible_people(d, [c.person_id for c in found.cases])
    return [schemas.exposure_place(p, found.cluster_of, shown) for p in found.places if shown & set(p.cases)]


@router.get("/residents/{person_id}")
def resident(person_id: str, d: D) -> dict[str, Any]:
    """A resident's record, personal data masked."""
    d.require("epidemic:persons")
    return schemas.resident(_visible_resident(d, person_id))


@router.post("/residents/{person_id}/reveal")
def reveal(person_id: str, body: schemas.RevealRequest, d: D) -> dict[str, Any]:
    """Name, ID number and phone in full, for a reason; every reveal is audited."""
    d.require("epidemic:reveal")
    _visible_resident(d, person_id)
    with transaction(d.sessions) as session:
        return service.reveal(session, d.vault, person_id, actor=d.actor, reason=body.reason)


def _visible_resident(d: Deps, person_id: str):
    scope = _scope(d)
    with read_transaction(d.sessions) as session:
        row = service.resident(session, person_id)
    if not scope.sees(row.district, row.street, row.grid):
        raise NotFound(f"no resident {person_id}")
    return row

