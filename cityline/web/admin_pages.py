"""The administrator's pages: users, units, the dispatch catalogue with its history, and the
audit log.

Like every page they read through the API's own handlers as the signed-in user (so a page
shows what the API would answer them, and nothing reaches SQL from here); changes go from
``admin.js`` to the same JSON API with the session's CSRF token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityline.accounts import api as accounts_api
from cityline.accounts import units_api
from cityline.accounts.models import UNIT_KINDS
from cityline.accounts.rules import ROLES
from cityline.accounts.schemas import UnitRead
from cityline.errors import NotFound
from cityline.limits import MAX_PAGE, in_range
from cityline.routing import api as routing_api
from cityline.routing.schemas import CatalogueRule
from cityline.taxonomy import load_taxonomy
from cityline.timeutil import as_aware
from cityline.web.gate import open_page
from cityline.web.render import render

router = APIRouter(include_in_schema=False)
AUDIT_PAGE_SIZE = 50
RULE_COLUMNS = tuple(CatalogueRule.model_fields)  # the catalogue file's columns, in order


@router.get("/admin/users")
def users(request: Request) -> Response:
    v = open_page(request, "users")
    if isinstance(v, Response):
        return v
    units = units_api.list_(v.deps)
    return render(request, v, "admin_users.html", current="users", users=accounts_api.list_users(v.deps),
                  roles=ROLES, units=[u for u in units if u.active], unit_names={u.code: u.name for u in units})


def unit_tree(units: list[UnitRead]) -> list[tuple[UnitRead, int]]:
    """The units in tree order, each with its depth (a unit whose parent is unknown is a root)."""
    codes = {u.code for u in units}
    children: dict[str | None, list[UnitRead]] = {}
    for u in units:
        children.setdefault(u.parent_code if u.parent_code in codes else None, []).append(u)
    shown: list[tuple[UnitRead, int]] = []
    todo = [(u, 0) for u in reversed(children.get(None, []))]
    while todo:
        unit, depth = todo.pop()
        shown.append((unit, depth))
        todo.extend((c, depth + 1) for c in reversed(children.get(unit.code, [])))
    return shown


@router.get("/admin/units")
def units(request: Request) -> Response:
    v = open_page(request, "units")
    if isinstance(v, Response):
        return v
    everyone = units_api.list_(v.deps)
    return render(request, v, "admin_units.html", current="units", tree=unit_tree(everyone), kinds=UNIT_KINDS,
                  active_count=sum(u.active for u in everyone))


@router.get("/admin/catalogue")
def catalogue(request: Request, version: str | None = None) -> Response:
    """The rules in force, every version (who, when, what changed), one version's changes."""
    v = open_page(request, "catalogue")
    if isinstance(v, Response):
        return v
    versions = routing_api.list_versions(v.deps)
    chosen = None
    if version and version.isdigit() and 0 < int(version) < 2**31:
        try:
            chosen = routing_api.get_version(int(version), v.deps)
        except NotFound:
            chosen = None
    unit_names = {u.code: u.name for u in units_api.list_(v.deps)}
    return render(request, v, "admin_catalogue.html", current="catalogue", rules=routing_api.list_catalogue(v.deps),
                  versions=versions, chosen=chosen, unit_names=unit_names, columns=RULE_COLUMNS,
                  taxonomy=load_taxonomy(), in_force=versions[0].version if versions else None)


def _moment(text: str | None, name: str, bad: list[str]) -> datetime | None:
    """A time from the filter form (local, as typed); None when blank, or when it is not a time
    cityline can hold (then ``name`` joins ``bad`` and the page says so)."""
    try:
        return as_aware(in_range(datetime.fromisoformat(text))) if text else None
    except ValueError:
        bad.append(name)
        return None


@router.get("/admin/audit")
def audit(request: Request, actor: str | None = None, action: str | None = None, since: str | None = None,
          until: str | None = None, page: int = 1) -> Response:
    """The audit log, newest first, filtered by who, what and when, a page at a time with the total."""
    v = open_page(request, "audit")
    if isinstance(v, Response):
        return v
    page = min(max(page, 1), MAX_PAGE)  # called in-process: the API's own bounds do not apply
    bad: list[str] = []
    chosen: dict[str, Any] = {"actor": (actor or "").strip() or None, "action": (action or "").strip() or None,
                              "since": _moment(since, "since", bad), "until": _moment(until, "until", bad)}
    answer = Response()
    entries = accounts_api.audit_log(v.deps, answer, **chosen, limit=AUDIT_PAGE_SIZE, page=page)
    total = int(answer.headers["X-Total-Count"])
    given = {k: val for k, val in {"actor": actor, "action": action, "since": since, "until": until}.items() if val}
    return render(request, v, "admin_audit.html", current="audit", entries=entries, total=total, page=page,
                  page_size=AUDIT_PAGE_SIZE, given=given, bad=bad,
                  page_url=lambda n: "/admin/audit?" + urlencode({**given, "page": n}))
