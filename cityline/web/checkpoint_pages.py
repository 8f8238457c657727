"""The pages of road checkpoints: registering a vehicle on a phone at the roadside (a form used
with one thumb; the flags come back at once), and the console's counts per checkpoint and hour
with the vehicles still inside their closed loop.

Like the other pages these read through the checkpoints API's own handlers as the visitor (their
reach, their masking); the phone page's script sends the registration to
``POST /api/checkpoints/registrations`` with the session's CSRF token.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityline.checkpoints import api as checkpoints_api
from cityline.db import utcnow
from cityline.timeutil import parse_when
from cityline.web.gate import open_page
from cityline.web.render import render

router = APIRouter(include_in_schema=False)
COLOURS = ("green", "yellow", "red")  # the health-code buttons, in the order people know them


@router.get("/checkpoints/register")
def register_page(request: Request) -> Response:
    v = open_page(request, "checkpoint_register")
    if isinstance(v, Response):
        return v
    return render(request, v, "checkpoint_register.html", current="checkpoint_register",
                  checkpoints=checkpoints_api.list_checkpoints(v.deps), colours=COLOURS)


@router.get("/checkpoints")
def counts_page(request: Request) -> Response:
    """The last 24 hours per checkpoint and hour, and the open loops (overdue first in time)."""
    v = open_page(request, "checkpoints")
    if isinstance(v, Response):
        return v
    now = utcnow()
    counts = checkpoints_api.hour_counts(v.deps, now - timedelta(hours=24), now)
    totals = {name: sum(getattr(c, name) for c in counts)
              for name in ("vehicles", "turned_back", "left", "flagged", "warnings")}
    loops = [{**lp, "must_leave_by": parse_when(lp["must_leave_by"]), "registered_at": parse_when(lp["registered_at"])}
             for lp in checkpoints_api.loops(v.deps)]
    return render(request, v, "checkpoint_counts.html", current="checkpoints", counts=counts, totals=totals,
                  loops=loops, now=now)
