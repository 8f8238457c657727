"""HTTP for analytics: the briefing archive and the live situation. Needs ``analytics:read``.

Figures are city-wide aggregates; the order numbers they cite open only for
those whose reach includes the order (the orders API decides).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from cityline.accounts.deps import Deps, deps
from cityline.analytics import service
from cityline.analytics.render import html_to_pdf
from cityline.db import read_transaction, utcnow
from cityline.limits import Day
from cityline.timeutil import to_local

router = APIRouter(prefix="/api/analytics", tags=["analytics"])
D = Annotated[Deps, Depends(deps)]


@router.get("/briefings")
def briefings(d: D) -> list[dict]:
    """The stored briefings, newest day first."""
    d.require("analytics:read")
    with read_transaction(d.sessions) as session:
        return [{"day": day.isoformat(), "generated_at": generated.isoformat()}
                for day, generated in service.list_briefings(session)]


@router.get("/briefings/{day}", response_model=None)
def briefing(day: Day, d: D,
             format: Annotated[Literal["json", "html", "pdf"], Query()] = "json") -> Response | dict:
    """One stored briefing: its JSON (formats.md §3), or ``?format=html`` / ``?format=pdf``."""
    d.require("analytics:read")
    with read_transaction(d.sessions) as session:
        stored = service.get_briefing(session, day)
    if format == "html":
        return Response(stored.html, media_type="text/html; charset=utf-8")
    if format == "pdf":
        return Response(html_to_pdf(stored.html), media_type="application/pdf")
    return stored.json


@router.get("/situation")
def situation(d: D, day: Day | None = None) -> dict:
    """Today (or ``day``): totals against yesterday and last year, epidemic share, categories,
    top problems, emerging issues, and orders per district and street for a map.

    Read from the analytics export as it stands — the server brings it up to date in the
    background (``CITYLINE_ANALYTICS_EXPORT_SECONDS``), never inside this request —
    and ``exported_at`` says when it last did (null: not yet exported); the figures are
    as of then, computed once per export."""
    d.require("analytics:read")
    now = utcnow()
    return service.current_situation(service.analytics_folder(), day or to_local(now).date(), now)
