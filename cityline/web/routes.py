"""The console's router: signing in, the start page and static files; the pages themselves
are in ``work_pages`` (the loop's daily work), ``insight_pages`` (situation, briefings),
``epidemic_pages`` (coverage, passes, verifying a pass), ``command_page`` (the commander's map),
``outbreak_pages`` (cases, clusters, places of exposure), ``admin_pages`` (users, units, the
dispatch catalogue, the audit log), ``checkpoint_pages`` (registering at a road checkpoint, its counts)
and ``inspection_pages`` (the patrol form, findings and their counts)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from cityline.errors import NotFound
from cityline.web import (
    admin_pages,
    checkpoint_pages,
    command_page,
    epidemic_pages,
    insight_pages,
    inspection_pages,
    outbreak_pages,
    work_pages,
)
from cityline.web.gate import denied, to_login
from cityline.web.render import ONE_YEAR, STATIC, render
from cityline.web.rules import home_for, safe_next
from cityline.web.visitor import visitor_of

router = APIRouter(include_in_schema=False)
# Types a browser may be sent from static/; anything else there is not served.
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".txt": "text/plain; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
                ".json": "application/json"}  # the commander map's district outlines


@router.get("/")
def start(request: Request) -> Response:
    """Each role starts on its own page: operators at intake, handlers in their inbox, …"""
    visitor = visitor_of(request)
    if visitor is None:
        return to_login(request)
    home = home_for(visitor.roles, visitor.permissions)
    if home is None:
        return denied(request, visitor)
    return RedirectResponse(home.path, status_code=303)


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    target = safe_next(next)
    if visitor_of(request) is not None:
        return RedirectResponse(target, status_code=303)
    return render(request, None, "login.html", target=target)


@router.get("/static/{path:path}")
def static_file(path: str) -> Response:
    """The console's own scripts, styles and the vendored libraries; nothing from elsewhere."""
    base = STATIC.resolve()
    file = (base / path).resolve()
    if not file.is_relative_to(base) or not file.is_file() or file.suffix not in STATIC_TYPES:
        raise NotFound(f"no static file {path}")
    # URLs carry the content hash (render.asset), so the browser may keep a file for long.
    return FileResponse(file, media_type=STATIC_TYPES[file.suffix],
                        headers={"Cache-Control": f"public, max-age={ONE_YEAR}, immutable"})


router.include_router(work_pages.router)
router.include_router(insight_pages.router)
router.include_router(epidemic_pages.router)
router.include_router(command_page.router)
router.include_router(outbreak_pages.router)
router.include_router(inspection_pages.router)
router.include_router(admin_pages.router)
router.include_router(checkpoint_pages.router)
