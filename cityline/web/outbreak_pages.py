"""The pages of an outbreak: cases with their contacts, clusters (风险群) with their graph, and
places of exposure. People by person, so every page needs ``epidemic:persons``.

They read through the epidemic API's own handlers called in-process as the visitor, so a
page shows what the API answers that user: only cases in the visitor's reach
(``ledger.person_scope``), names masked, people outside the reach counted and drawn without
a name. The cluster's graph is drawn by ``cluster.js`` with the vendored ECharts.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityline.epidemic import api as epidemic_api
from cityline.errors import NotFound
from cityline.web.epidemic_pages import day_or_none
from cityline.web.gate import open_page
from cityline.web.render import render
from cityline.web.visitor import Visitor

router = APIRouter(include_in_schema=False)


def _day(v: Visitor, text: str | None) -> tuple[date, str | None]:
    """The day asked for, else the latest report's; with ``bad_date`` when the one asked for
    was no date."""
    day = day_or_none(text)
    return epidemic_api.report_day(v.deps, day), ("bad_date" if text and day is None else None)


@router.get("/epidemic/cases")
def cases_page(request: Request, date: str | None = None) -> Response:
    """The cases of the 28 days up to a day, latest first: reported, place, contacts by tier, cluster."""
    v = open_page(request, "cases")
    if isinstance(v, Response):
        return v
    day, problem = _day(v, date)
    return render(request, v, "epidemic_cases.html", current="cases", day=day.isoformat(), problem=problem,
                  cases=epidemic_api.cases(v.deps, day))


@router.get("/epidemic/cases/{person_id}")
def case_page(request: Request, person_id: str, date: str | None = None) -> Response:
    """A case: its exposure window, tier-1 contacts with relation, overlap and evidence, tier-2
    contacts with whom they came through, and its cluster."""
    v = open_page(request, "cases")
    if isinstance(v, Response):
        return v
    try:
        case = epidemic_api.case(person_id, v.deps, day_or_none(date))
    except NotFound:
        return render(request, v, "epidemic_case.html", status=404, current="cases", case=None, person=person_id)
    first = [c for c in case["contacts"] if c["tier"] == 1]
    second = [c for c in case["contacts"] if c["tier"] == 2]
    return render(request, v, "epidemic_case.html", current="cases", case=case, person=person_id, first=first,
                  second=second)


@router.get("/epidemic/clusters")
def clusters_page(request: Request, date: str | None = None) -> Response:
    """Clusters ranked by size, then growth (cases of the last 7 days against the 7 before)."""
    v = open_page(request, "clusters")
    if isinstance(v, Response):
        return v
    day, problem = _day(v, date)
    return render(request, v, "epidemic_clusters.html", current="clusters", day=day.isoformat(), problem=problem,
                  clusters=epidemic_api.clusters(v.deps, day))


@router.get("/epidemic/clusters/{cluster_id}")
def cluster_page(request: Request, cluster_id: str, date: str | None = None) -> Response:
    """A cluster: its graph of cases and contacts, its links with their evidence, its places."""
    v = open_page(request, "clusters")
    if isinstance(v, Response):
        return v
    day, _problem = _day(v, date)
    try:
        found = epidemic_api.cluster(cluster_id, v.deps, day)
    except NotFound:
        return render(request, v, "epidemic_cluster.html", status=404, current="clusters", cluster=None,
                      cluster_id=cluster_id, day=day.isoformat())
    return render(request, v, "epidemic_cluster.html", current="clusters", cluster=found, cluster_id=cluster_id,
                  day=day.isoformat())


@router.get("/epidemic/exposure-places")
def places_page(request: Request, date: str | None = None) -> Response:
    """Venues where visits of two or more cases overlapped, the most cases first."""
    v = open_page(request, "clusters")
    if isinstance(v, Response):
        return v
    day, problem = _day(v, date)
    return render(request, v, "epidemic_places.html", current="clusters", day=day.isoformat(), problem=problem,
                  places=epidemic_api.exposure_places(v.deps, day))

