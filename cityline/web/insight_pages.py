"""Pages for leaders and analysts: the live situation and the briefing archive.

Their figures come from the analytics API (``/api/analytics/situation``,
``/api/analytics/briefings``), read by the page's script and drawn with ECharts;
when that API does not answer, the page says so instead of drawing anything. The
situation also lists the day's epidemic zones (``epidemic_pages.zones_of``).
"""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityline.db import utcnow
from cityline.limits import in_range
from cityline.timeutil import to_local
from cityline.web.epidemic_pages import zones_of
from cityline.web.gate import open_page
from cityline.web.render import render

router = APIRouter(include_in_schema=False)


def day_asked(text: str | None) -> date:
    """The day asked for (YYYY-MM-DD), else today in the hotline's time."""
    try:
        return in_range(date.fromisoformat(text)) if text else to_local(utcnow()).date()
    except ValueError:  # not a day, or one cityline cannot show (0001-01-01: no day before it)
        return to_local(utcnow()).date()


@router.get("/situation")
def situation(request: Request, day: str | None = None) -> Response:
    v = open_page(request, "situation")
    if isinstance(v, Response):
        return v
    shown = day_asked(day)
    return render(request, v, "situation.html", current="situation", day=shown.isoformat(),
                  epidemic=zones_of(v, shown),
                  previous=(shown - timedelta(days=1)).isoformat(),
                  following=(shown + timedelta(days=1)).isoformat())


@router.get("/briefings")
def briefings(request: Request, day: str | None = None) -> Response:
    v = open_page(request, "briefings")
    if isinstance(v, Response):
        return v
    chosen = day_asked(day).isoformat() if day else ""
    return render(request, v, "briefings.html", current="briefings", chosen=chosen)
