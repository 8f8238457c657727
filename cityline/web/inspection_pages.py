"""The pages of inspection findings: the patrol worker's phone form (a site, a problem type, a
photo, a note: recorded in under a minute), a finding with its photos and the next step (the
unit accepts and replies with a photo of the rectified site, the inspector closes or reopens),
and the counts with on-time rates by site and by unit.

Like the other pages, these call the inspection API's own handlers in-process as the visitor,
so a page shows what the API answers that user (a finding outside the reach: the missing
page). The forms' scripts (``inspection.js``) send photos to the same API as multipart.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityline.errors import NotFound
from cityline.inspection import api as inspection_api
from cityline.inspection.rules import METHODS, load_problems
from cityline.orders import api as orders_api
from cityline.web.gate import open_page
from cityline.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/inspection/patrol")
def patrol_page(request: Request) -> Response:
    """The patrol worker's phone form."""
    v = open_page(request, "patrol")
    if isinstance(v, Response):
        return v
    sites = inspection_api.sites(v.deps, q=None, limit=500)
    return render(request, v, "inspection_patrol.html", current="patrol", sites=sites,
                  problems=list(load_problems().values()), methods=METHODS)


@router.get("/inspection")
def findings_page(request: Request) -> Response:
    """Counts and on-time rates by site and by unit, and the latest findings."""
    v = open_page(request, "inspection")
    if isinstance(v, Response):
        return v
    tallies = inspection_api.tallies(v.deps)
    recent = inspection_api.recent(v.deps)
    return render(request, v, "inspection.html", current="inspection", tallies=tallies, recent=recent,
                  problems=load_problems())


@router.get("/inspection/findings/{number}")
def finding_page(request: Request, number: str) -> Response:
    v = open_page(request, "inspection")
    if isinstance(v, Response):
        return v
    try:
        finding = inspection_api.show(number, v.deps)
    except NotFound:
        return render(request, v, "missing.html", status=404, number=number)
    moves = orders_api.moves_for(v.deps.principal, finding.order)
    return render(request, v, "inspection_finding.html", current="inspection", f=finding, o=finding.order,
                  moves=moves, can_check=v.can("inspection:check") and finding.order.status == "replied")
