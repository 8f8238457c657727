"""The commander's page (指挥): one local day of the epidemic on a map of Shanghai's districts —
zones, cases and arrivals from risk areas by district, and the streets where test coverage is
lowest. Figures only (``epidemic:read``), read through the epidemic API's own handler
(``GET /api/epidemic/command``) as the visitor; the map is drawn by ``command.js`` with
ECharts over the vendored district outlines (``static/vendor/shanghai-districts.json``)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityline.epidemic import api as epidemic_api
from cityline.web.gate import open_page
from cityline.web.insight_pages import day_asked
from cityline.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/epidemic/command")
def command_page(request: Request, day: str | None = None) -> Response:
    v = open_page(request, "command")
    if isinstance(v, Response):
        return v
    shown = day_asked(day)
    view = epidemic_api.command(v.deps, shown)
    return render(request, v, "epidemic_command.html", current="command", view=view, day=shown.isoformat(),
                  previous=(shown - timedelta(days=1)).isoformat(),
                  following=(shown + timedelta(days=1)).isoformat())
