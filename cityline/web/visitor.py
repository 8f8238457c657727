"""Who is looking at a page: the signed-in user behind the session cookie, their CSRF token
for the changes the page's scripts send, and the language they read."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from cityline.accounts import service as accounts
from cityline.accounts.deps import SESSION_COOKIE, Deps, deny
from cityline.db import read_transaction, utcnow
from cityline.web.rules import pick_language

LANGUAGE_COOKIE = "cityline_lang"


@dataclass
class Visitor:
    deps: Deps  # what the API's handlers take: the console calls them in-process
    csrf: str
    unit: str | None  # code of the user's unit
    unit_name: str | None

    @property
    def name(self) -> str:
        return self.deps.principal.name

    @property
    def roles(self) -> frozenset[str]:
        return self.deps.principal.roles

    @property
    def permissions(self) -> frozenset[str]:
        return self.deps.principal.permissions

    def can(self, permission: str) -> bool:
        return self.deps.principal.can(permission)

    def audit_denial(self, what: str) -> None:
        deny(self.deps.sessions, self.name, what)


def language_of(request: Request) -> str:
    return pick_language(request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE))


def visitor_of(request: Request) -> Visitor | None:
    """The signed-in user of a page request, or None (the page then sends them to sign in)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    state = request.app.state
    with read_transaction(state.sessions) as session:
        live = accounts.principal_from_cookie(session, cookie, utcnow())
    if live is None:
        return None
    deps = Deps(sessions=state.sessions, vault=state.vault, principal=live.principal, app_state=state)
    return Visitor(deps=deps, csrf=live.csrf, unit=live.unit_code, unit_name=live.unit_name)
