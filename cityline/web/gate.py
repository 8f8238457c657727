"""The gate every page passes: signed in? allowed to open this page?"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from cityline.web.render import render
from cityline.web.rules import PAGES_BY_NAME, home_for, may_open
from cityline.web.visitor import Visitor, visitor_of


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def open_page(request: Request, name: str) -> Visitor | Response:
    """The visitor when they may open page ``name``; otherwise the response to send instead:
    the sign-in page, or a 403 page (the denial is audited like the API's)."""
    visitor = visitor_of(request)
    if visitor is None:
        return to_login(request)
    if not may_open(PAGES_BY_NAME[name], visitor.permissions):
        visitor.audit_denial(f"page:{name}")
        return denied(request, visitor)
    return visitor


def denied(request: Request, visitor: Visitor) -> Response:
    home = home_for(visitor.roles, visitor.permissions)
    return render(request, visitor, "denied.html", status=403, home=home)
