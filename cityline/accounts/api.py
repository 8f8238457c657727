"""HTTP for signing in and for administering users, tokens and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from cityline.accounts import service
from cityline.accounts.deps import SESSION_COOKIE, Deps, deps
from cityline.accounts.models import Unit
from cityline.accounts.schemas import (
    AuditRead,
    Login,
    Me,
    PasswordReset,
    TokenCreate,
    TokenRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from cityline.db import read_transaction, transaction, utcnow
from cityline.errors import Unauthorized
from cityline.idempotency import service as idempotency
from cityline.idempotency.schemas import IdempotencyKeyHeader
from cityline.limits import Moment, Page, RowId
from cityline.timeutil import as_aware

router = APIRouter(tags=["accounts"])
D = Annotated[Deps, Depends(deps)]


def _unit_code(session: Session, unit_id: int | None) -> str | None:
    return session.get(Unit, unit_id).code if unit_id else None


def _user_read(session: Session, u) -> UserRead:
    return UserRead(username=u.username, display_name=u.display_name, roles=u.roles, active=u.active,
                    unit=_unit_code(session, u.unit_id), last_login_at=u.last_login_at)


@router.post("/api/auth/login", response_model=Me,
             responses={401: {"description": "wrong username or password, or the account is locked for now"}})
def login(body: Login, request: Request, response: Response) -> Me:
    """Sign in: sets the session cookie and returns the CSRF token to send with changes."""
    sessions = request.app.state.sessions
    now = utcnow()
    with transaction(sessions) as session:  # the attempt is recorded even when it fails
        user, why = service.check_password(session, body.username, body.password, now)
        if user:
            cookie, csrf = service.start_web_session(session, user, now)
            principal = service.principal(session, user.username, user.roles, user.unit_id, "user")
            unit = _unit_code(session, user.unit_id)
    if user is None:
        raise Unauthorized(why)
    response.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="strict",
                        max_age=int(service.SESSION_LIFETIME.total_seconds()),
                        secure=request.url.scheme == "https")
    return Me(username=principal.name, roles=sorted(principal.roles), unit=unit,
              permissions=sorted(principal.permissions), csrf_token=csrf)


@router.post("/api/auth/logout", status_code=204)
def logout(request: Request, response: Response) -> None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with transaction(request.app.state.sessions) as session:
            service.end_web_session(session, cookie)
    response.delete_cookie(SESSION_COOKIE)


@router.get("/api/auth/me", response_model=Me)
def me(d: D) -> Me:
    with read_transaction(d.sessions) as session:
        unit = _unit_code(session, d.principal.unit_id)
    return Me(username=d.principal.name, roles=sorted(d.principal.roles), unit=unit,
              permissions=sorted(d.principal.permissions))


@router.get("/api/users", response_model=list[UserRead])
def list_users(d: D) -> list[UserRead]:
    d.require("users:admin")
    with read_transaction(d.sessions) as session:
        return [_user_read(session, u) for u in service.list_users(session)]


@router.post("/api/users", status_code=201, response_model=UserRead,
             responses={200: {"model": UserRead, "description": "a retry (same Idempotency-Key and body): the user"},
                        409: {"description": "the username is taken, or the Idempotency-Key was used with another body"}})
def create_user(body: UserCreate, d: D, response: Response, idempotency_key: IdempotencyKeyHeader = None) -> UserRead:
    d.require("users:admin")
    with transaction(d.sessions) as session:
        claimed = idempotency.reserve(session, idempotency_key, actor=d.actor, endpoint="POST /api/users",
                                      request=body.model_dump(mode="json"), now=utcnow())
        if claimed and claimed.replay:
            response.status_code = 200
            u = service.get_user(session, claimed.replay)
        else:
            u = service.create_user(session, body.username, body.password, body.roles, unit=body.unit,
                                    actor=d.actor, display_name=body.display_name)
            if claimed:
                idempotency.complete(session, claimed, u.username)
        return _user_read(session, u)


@router.post("/api/users/{username}/disable", status_code=204)
def disable_user(username: str, d: D) -> None:
    d.require("users:admin")
    with transaction(d.sessions) as session:
        service.disable_user(session, username, actor=d.actor)


@router.patch("/api/users/{username}", response_model=UserRead)
def update_user(username: str, body: UserUpdate, d: D) -> UserRead:
    """Change a user's roles, unit, name or whether they may sign in (their open sessions end
    when what they may see changes)."""
    d.require("users:admin")
    with transaction(d.sessions) as session:
        u = service.update_user(session, username, actor=d.actor, roles=body.roles, unit=body.unit or None,
                                clear_unit=body.unit == "", display_name=body.display_name, active=body.active)
        return _user_read(session, u)


@router.post("/api/users/{username}/password", status_code=204)
def reset_password(username: str, body: PasswordReset, d: D) -> None:
    """A new password for a user who lost theirs; their lockout is lifted and sessions end."""
    d.require("users:admin")
    with transaction(d.sessions) as session:
        service.reset_password(session, username, body.password, actor=d.actor)


def _token_read(session: Session, row, token: str | None = None) -> TokenRead:
    return TokenRead(id=row.id, name=row.name, prefix=row.prefix, roles=row.roles, created_by=row.created_by,
                     unit=_unit_code(session, row.unit_id), created_at=row.created_at,
                     revoked_at=row.revoked_at, last_used_at=row.last_used_at, token=token)


@router.get("/api/tokens", response_model=list[TokenRead])
def list_tokens(d: D) -> list[TokenRead]:
    d.require("users:admin")
    with read_transaction(d.sessions) as session:
        return [_token_read(session, row) for row in service.list_tokens(session)]


@router.post("/api/tokens", status_code=201, response_model=TokenRead,
             responses={200: {"model": TokenRead, "description": "a retry (same Idempotency-Key and body): the "
                              "token the first request made, without the token itself (kept only as a hash)"}})
def create_token(body: TokenCreate, d: D, response: Response, idempotency_key: IdempotencyKeyHeader = None) -> TokenRead:
    """A token for a system; the answer is the only time the token itself is shown. A retry
    whose first answer was lost learns the token's id, to revoke it and ask for another."""
    d.require("users:admin")
    with transaction(d.sessions) as session:
        claimed = idempotency.reserve(session, idempotency_key, actor=d.actor, endpoint="POST /api/tokens",
                                      request=body.model_dump(mode="json"), now=utcnow())
        if claimed and claimed.replay:
            response.status_code = 200
            return _token_read(session, service.get_token(session, int(claimed.replay)))
        token, row = service.create_token(session, body.name, body.roles, unit=body.unit, actor=d.actor)
        if claimed:
            idempotency.complete(session, claimed, str(row.id))
        return _token_read(session, row, token)


@router.post("/api/tokens/{token_id}/revoke", response_model=TokenRead)
def revoke_token(token_id: RowId, d: D) -> TokenRead:
    d.require("users:admin")
    with transaction(d.sessions) as session:
        return _token_read(session, service.revoke_token(session, token_id, actor=d.actor, now=utcnow()))


@router.get("/api/audit", response_model=list[AuditRead],
            responses={200: {"headers": {"X-Total-Count": {"description": "entries matching, in all pages",
                                                           "schema": {"type": "integer"}}}}})
def audit_log(d: D, response: Response, actor: str | None = None, action: str | None = None,
              since: Moment | None = None, until: Moment | None = None,
              limit: Annotated[int, Query(ge=1, le=5000)] = 200, page: Page = 1) -> list[AuditRead]:
    """Audit entries newest first, ``limit`` a page; the header X-Total-Count says how many match."""
    d.require("audit:read")
    window = {"actor": actor, "action": action, "since": as_aware(since) if since else None,
              "until": as_aware(until) if until else None}
    with read_transaction(d.sessions) as session:
        entries = service.list_audit(session, **window, limit=limit, offset=(page - 1) * limit)
        response.headers["X-Total-Count"] = str(service.count_audit(session, **window))
        return [AuditRead.model_validate(e, from_attributes=True) for e in entries]
