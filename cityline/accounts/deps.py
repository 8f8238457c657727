"""What every request handler needs: sessions, the vault, and who is asking.

A request is authenticated by an API token (``Authorization: Bearer cl_…``) or
by the console's session cookie; a cookie request that changes something must
also send the session's CSRF token in ``X-CSRF-Token``. Authentication only reads
(a read transaction); the two writes around it have their own short write
transactions: a denial's audit entry, so it survives the failed request, and a
token's last use, every few minutes at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from cityline.accounts import service as accounts
from cityline.accounts.rules import Principal
from cityline.db import read_transaction, transaction, utcnow
from cityline.errors import Forbidden, NotFound, Unauthorized
from cityline.generations import current
from cityline.privacy import Vault

SESSION_COOKIE = "cityline_session"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass
class Deps:
    sessions: sessionmaker[Session]
    vault: Vault
    principal: Principal
    app_state: Any
    # (token, stamps): a principal known from an earlier request, still to be confirmed by
    # ``confirm`` in the use case's transaction (see deps_confirmed_in)
    unconfirmed: tuple[str, tuple[int, ...]] | None = None

    @property
    def actor(self) -> str:
        return self.principal.name

    def require(self, permission: str) -> None:
        """Raise 403 (and audit the denial) unless the principal's roles allow ``permission``."""
        if not self.principal.can(permission) and self.unconfirmed is not None:
            # Known from an earlier request but not yet confirmed: a token revoked meanwhile is
            # answered 401 like any other request's, not 403 for what it may not do.
            with read_transaction(self.sessions) as session:
                self.confirm(session)
        if not self.principal.can(permission):
            deny(self.sessions, self.principal.name, permission)
            raise Forbidden(f"your roles ({', '.join(sorted(self.principal.roles))}) do not allow {permission}")

    def ensure_visible(self, unit_id: int | None, district: str | None, street: str | None, what: str) -> None:
        """Outside the principal's reach a thing does not exist: 404, never 403."""
        if not self.principal.sees(unit_id, district, street):
            raise NotFound(f"no {what}")

    def confirm(self, session: Session) -> None:
        """First thing in the use case's transaction, when the principal was known from an earlier
        request (``deps_confirmed_in``): it is still the token's if the stamps of the tokens and
        units (which this transaction reads anyway, for its caches) are those it was made under;
        otherwise it is looked up again here — a token revoked meanwhile is refused (401)."""
        if self.unconfirmed is None:
            return
        token, stamps = self.unconfirmed
        self.unconfirmed = None
        if current(session, PRINCIPAL_GENERATIONS) == stamps:
            return
        principal = _look_up(session, token)
        if principal is None:
            raise Unauthorized("the API token is unknown or revoked")
        self.principal = principal

    def classify(self, session: Session):
        """The active triage classifier (None when the app was built without triage)."""
        provider = getattr(self.app_state, "classifier", None)
        return provider(session) if provider else None


def deny(sessions: sessionmaker[Session], actor: str, permission: str) -> None:
    with transaction(sessions) as session:
        accounts.audit(session, actor, "denied", permission)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def _principal(session: Session, request: Request, now: datetime) -> tuple[Principal, str | None]:
    """Who is asking, and their token when its use is due to be recorded."""
    token = _bearer(request)
    if token is not None:
        found = accounts.principal_from_token(session, token, now)
        if found is None:
            raise Unauthorized("the API token is unknown or revoked")
        principal, due = found
        return principal, token if due else None
    cookie = request.cookies.get(SESSION_COOKIE)
    live = accounts.principal_from_cookie(session, cookie, now) if cookie else None
    if live is None:
        raise Unauthorized("sign in (POST /api/auth/login) or send an API token")
    principal, csrf = live.principal, live.csrf
    if request.method not in SAFE_METHODS and request.headers.get("x-csrf-token") != csrf:
        raise Forbidden("missing or wrong X-CSRF-Token header for this session")
    return principal, None


# Declared so that the OpenAPI schema says which operations need a principal, and how to be
# one; they refuse nothing themselves (``_principal`` reads the header and the cookie).
_TOKEN = HTTPBearer(auto_error=False, description="an API token (`cityline tokens create`)")
_COOKIE = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                       description="the console's session, with X-CSRF-Token on changes")


# What a token's principal is made of: the token's row, and the units (its unit's place and those below).
PRINCIPAL_GENERATIONS = ("tokens", "units")
# (database, token digest) -> (the stamps it was made under, the principal, when its use is next due
# to be recorded): the tokens authenticated in this process, for deps_confirmed_in. Only tokens
# that were live get in (a few: the systems and operators that send orders).
_known: dict[tuple[str, str], tuple[tuple[int, ...], Principal, datetime]] = {}


def _look_up(session: Session, token: str) -> Principal | None:
    """The token's principal read in ``session`` (None: unknown or revoked), remembered with the
    stamps this transaction sees."""
    found = accounts.token_principal(session, token)
    key = (str(session.get_bind().engine.url), accounts.token_digest(token))
    if found is None:
        _known.pop(key, None)
        return None
    _known[key] = (current(session, PRINCIPAL_GENERATIONS), *found)
    return found[0]


def deps_confirmed_in(request: Request, _token: Annotated[object, Depends(_TOKEN)] = None,
                      _cookie: Annotated[object, Depends(_COOKIE)] = None) -> Deps:
    """``deps`` for a use case on the hot path (recording an order) that calls ``Deps.confirm``
    first thing in its own transaction: a token authenticated before in this process is taken
    as it was, without a read transaction of its own, and confirmed there by the generation
    stamps that transaction reads anyway. Any other request (a cookie, a token not known yet or
    whose use is due to be recorded) is authenticated as ``deps`` does."""
    state = request.app.state
    token = _bearer(request)
    known = _known.get((str(state.sessions.kw["bind"].engine.url), accounts.token_digest(token))) if token else None
    if token is not None and known is not None and utcnow() <= known[2]:
        return Deps(sessions=state.sessions, vault=state.vault, principal=known[1], app_state=state,
                    unconfirmed=(token, known[0]))
    answer = deps(request)
    if token is not None:
        with read_transaction(state.sessions) as session:
            _look_up(session, token)  # known from now on (its use, if it was due, recorded just now)
    return answer


def deps(request: Request, _token: Annotated[object, Depends(_TOKEN)] = None,
         _cookie: Annotated[object, Depends(_COOKIE)] = None) -> Deps:
    state = request.app.state
    now = utcnow()
    # Every request passes here: a read transaction, so no request waits for writers
    # just to be signed in; the rare write (a token's last use) gets its own short one.
    with read_transaction(state.sessions) as session:
        principal, token_used = _principal(session, request, now)
    if token_used:
        with transaction(state.sessions) as session:
            accounts.record_token_use(session, token_used, now)
    return Deps(sessions=state.sessions, vault=state.vault, principal=principal, app_state=state)
