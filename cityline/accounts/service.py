"""Users, passwords, tokens, web sessions, principals and the audit log. Never commits."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from cityline.accounts.models import ApiToken, AuditEntry, Unit, User, WebSession
from cityline.accounts.rules import Principal, check_roles, lockout_until, reach_of
from cityline.accounts.units import descendant_ids
from cityline.errors import Conflict, FieldError, Invalid, NotFound

SESSION_LIFETIME = timedelta(hours=12)
# A token's last use is recorded at most this often: a write per request would make every
# read wait for the write lock on SQLite.
TOKEN_USE_RECORDED_EVERY = timedelta(minutes=5)
TOKEN_PREFIX = "cl_"
_hasher = PasswordHasher()


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def audit(session: Session, actor: str, action: str, target: str | None = None, *,
          reason: str | None = None, **detail: Any) -> AuditEntry:
    entry = AuditEntry(actor=actor, action=action, target=target, reason=reason, detail=detail)
    session.add(entry)
    return entry


def _unit_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    unit_id = session.scalar(select(Unit.id).where(Unit.code == code))
    if unit_id is None:
        raise Invalid(f"unknown unit '{code}'", [FieldError("unit", "no unit has this code")])
    return unit_id


def _check_roles(roles: list[str]) -> None:
    if not roles or (unknown := check_roles(roles)):
        message = f"unknown role(s): {', '.join(unknown)}" if roles else "at least one role is required"
        raise Invalid(message, [FieldError("roles", message)])


def hash_password(password: str) -> str:
    """The stored form of a password (argon2: deliberately slow, a few tenths of a second)."""
    return _hasher.hash(password)


def create_user(session: Session, username: str, password: str, roles: list[str], *, unit: str | None,
                actor: str, display_name: str | None = None, password_hash: str | None = None) -> User:
    """``password_hash``: ``hash_password(password)`` computed once for users who share the
    password (the demo's), so each does not pay for hashing it again."""
    _check_roles(roles)
    if len(password) < 10:
        raise Invalid("password too short", [FieldError("password", "at least 10 characters")])
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"user '{username}' already exists", code="user.exists", params={"username": username})
    user = User(username=username, display_name=display_name or username, roles=sorted(set(roles)),
                password_hash=password_hash or hash_password(password), unit_id=_unit_id(session, unit))
    session.add(user)
    session.flush()
    audit(session, actor, "user_created", username, roles=user.roles, unit=unit)
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user '{username}'")
    return user


def disable_user(session: Session, username: str, *, actor: str) -> User:
    user = get_user(session, username)
    user.active = False
    _end_sessions(session, user)
    audit(session, actor, "user_disabled", username)
    return user


def _end_sessions(session: Session, user: User) -> None:
    for web in session.scalars(select(WebSession).where(WebSession.user_id == user.id)):
        session.delete(web)


def update_user(session: Session, username: str, *, actor: str, roles: list[str] | None = None,
                unit: str | None = None, clear_unit: bool = False, display_name: str | None = None,
                active: bool | None = None) -> User:
    """Change a user's roles, unit, name or whether they may sign in. A change of roles or unit
    changes what they may see, so their open sessions end and they sign in again."""
    user = get_user(session, username)
    before = {"roles": user.roles, "unit_id": user.unit_id, "active": user.active}
    if roles is not None:
        _check_roles(roles)
        user.roles = sorted(set(roles))
    if clear_unit:
        user.unit_id = None
    elif unit is not None:
        user.unit_id = _unit_id(session, unit)
    if display_name is not None:
        user.display_name = display_name
    if active is not None:
        user.active = active
        if active:
            user.failed_logins, user.locked_until = 0, None
    if {"roles": user.roles, "unit_id": user.unit_id, "active": user.active} != before:
        _end_sessions(session, user)
    audit(session, actor, "user_changed", username, roles=user.roles, unit=_unit_code_of(session, user.unit_id),
          active=user.active, display_name=user.display_name)
    return user


def reset_password(session: Session, username: str, password: str, *, actor: str) -> User:
    """A new password set by an administrator: the lockout is lifted and open sessions end."""
    user = get_user(session, username)
    if len(password) < 10:
        raise Invalid("password too short", [FieldError("password", "at least 10 characters")])
    user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    _end_sessions(session, user)
    audit(session, actor, "password_reset", username)
    return user


def _unit_code_of(session: Session, unit_id: int | None) -> str | None:
    return session.scalar(select(Unit.code).where(Unit.id == unit_id)) if unit_id else None


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def check_password(session: Session, username: str, password: str, now: datetime) -> tuple[User | None, str]:
    """(user, "ok") or (None, why). Records the attempt; the caller commits even on failure."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        audit(session, username, "sign_in_failed", username, reason="unknown or disabled user")
        return None, "wrong username or password"
    if user.locked_until and user.locked_until > now:
        audit(session, username, "sign_in_refused", username, reason="locked after repeated failures")
        return None, f"too many failed attempts; try again after {user.locked_until:%H:%M} UTC"
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        user.locked_until = lockout_until(user.failed_logins, now)
        audit(session, username, "sign_in_failed", username, reason="wrong password", failures=user.failed_logins)
        return None, "wrong username or password"
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    audit(session, username, "sign_in", username)
    return user, "ok"


def start_web_session(session: Session, user: User, now: datetime) -> tuple[str, str]:
    """A new browser session: (cookie value, CSRF token)."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.add(WebSession(id_hash=_sha256(cookie), user_id=user.id, csrf_token=csrf, created_at=now,
                           expires_at=now + SESSION_LIFETIME))
    return cookie, csrf


def end_web_session(session: Session, cookie: str) -> None:
    web = session.get(WebSession, _sha256(cookie))
    if web:
        session.delete(web)


def create_token(session: Session, name: str, roles: list[str], *, unit: str | None, actor: str) -> tuple[str, ApiToken]:
    """A new API token: (the token, shown this once; its row, which keeps only a hash)."""
    _check_roles(roles)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=_sha256(token), prefix=token[:10], roles=sorted(set(roles)),
                   unit_id=_unit_id(session, unit), created_by=actor)
    session.add(row)
    session.flush()
    audit(session, actor, "token_created", f"token:{row.id}", name=name, roles=row.roles, unit=unit)
    return token, row


def get_token(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no token {token_id}")
    return row


def revoke_token(session: Session, token_id: int, *, actor: str, now: datetime) -> ApiToken:
    row = get_token(session, token_id)
    row.revoked_at = row.revoked_at or now
    audit(session, actor, "token_revoked", f"token:{token_id}", name=row.name)
    return row


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def principal(session: Session, name: str, roles: list[str], unit_id: int | None, kind: str) -> Principal:
    unit = session.get(Unit, unit_id) if unit_id else None
    return _principal_at(session, name, roles, unit_id, unit, kind)


def _principal_at(session: Session, name: str, roles: list[str], unit_id: int | None, unit: Any, kind: str) -> Principal:
    """The principal of ``unit`` (a Unit or a row with its parent_id, district and street; None: no unit)."""
    is_root = unit is None or unit.parent_id is None
    subtree = descendant_ids(session, unit_id) if unit is not None and unit_id else frozenset()
    reach, places = reach_of(frozenset(roles), is_root, subtree, unit.district if unit else None,
                             unit.street if unit else None)
    return Principal(name=name, roles=frozenset(roles), unit_id=unit_id, reach=reach, places=places, kind=kind)


def principal_from_token(session: Session, token: str, now: datetime) -> tuple[Principal, bool] | None:
    """(principal, whether its use is due to be recorded by :func:`record_token_use`) of a live
    token. Only reads, so authentication runs in a read transaction."""
    found = token_principal(session, token)
    if found is None:
        return None
    principal, next_use_due = found
    return principal, now > next_use_due


def token_principal(session: Session, token: str) -> tuple[Principal, datetime] | None:
    """The principal of a live token and when its use is next due to be recorded (None: unknown
    or revoked)."""
    row = session.connection().execute(_LIVE_TOKEN, {"token_hash": _sha256(token)}).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    due = row.last_used_at + TOKEN_USE_RECORDED_EVERY if row.last_used_at else datetime.min.replace(tzinfo=UTC)
    return principal(session, f"token:{row.name}", row.roles, row.unit_id, "token"), due


def token_digest(token: str) -> str:
    """What is stored of a token (its hash), by which it is found."""
    return _sha256(token)


# What authentication reads of a token, by its hash: built once and read as a plain row (every
# request with a token asks), not as an ApiToken through the ORM.
_TOKENS = ApiToken.__table__
_LIVE_TOKEN = select(_TOKENS.c.name, _TOKENS.c.roles, _TOKENS.c.unit_id, _TOKENS.c.revoked_at,
                     _TOKENS.c.last_used_at).where(_TOKENS.c.token_hash == bindparam("token_hash"))


def record_token_use(session: Session, token: str, now: datetime) -> None:
    """Set the token's ``last_used_at`` unless a concurrent request just did."""
    session.execute(update(ApiToken).where(
        ApiToken.token_hash == _sha256(token),
        or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - TOKEN_USE_RECORDED_EVERY),
    ).values(last_used_at=now))


class LiveSession(NamedTuple):
    """A live browser session: who it is, its CSRF token, and their unit's code and name."""

    principal: Principal
    csrf: str
    unit_code: str | None
    unit_name: str | None


# What a page or an API call with the session cookie reads to know who asks: the session, its user
# and the user's unit in one statement (every request of the console asks; read as the ORM's three
# objects, it took three round trips and a fifth of a small page's processor time).
_SESSIONS, _USERS, _UNITS = WebSession.__table__, User.__table__, Unit.__table__
_LIVE_SESSION = (select(_SESSIONS.c.expires_at, _SESSIONS.c.csrf_token, _USERS.c.username, _USERS.c.roles,
                        _USERS.c.unit_id, _USERS.c.active, _UNITS.c.code, _UNITS.c.name, _UNITS.c.parent_id,
                        _UNITS.c.district, _UNITS.c.street)
                 .join(_USERS, _USERS.c.id == _SESSIONS.c.user_id).outerjoin(_UNITS, _UNITS.c.id == _USERS.c.unit_id)
                 .where(_SESSIONS.c.id_hash == bindparam("id_hash")))


def principal_from_cookie(session: Session, cookie: str, now: datetime) -> LiveSession | None:
    """The live browser session of ``cookie`` (None: unknown, expired, or its user inactive)."""
    row = session.connection().execute(_LIVE_SESSION, {"id_hash": _sha256(cookie)}).one_or_none()
    if row is None or row.expires_at <= now or not row.active:
        return None
    unit = row if row.code is not None else None
    return LiveSession(_principal_at(session, row.username, row.roles, row.unit_id, unit, "user"), row.csrf_token,
                       row.code, row.name)


def _audit_matching(actor: str | None, action: str | None, since: datetime | None,
                    until: datetime | None) -> list[Any]:
    matching = []
    if actor:
        matching.append(AuditEntry.actor == actor)
    if action:
        matching.append(AuditEntry.action == action)
    if since:
        matching.append(AuditEntry.at >= since)
    if until:
        matching.append(AuditEntry.at < until)
    return matching


def list_audit(session: Session, *, actor: str | None = None, action: str | None = None,
               since: datetime | None = None, until: datetime | None = None, limit: int = 200,
               offset: int = 0) -> list[AuditEntry]:
    """Audit entries, newest first: ``limit`` of them after the first ``offset``."""
    query = (select(AuditEntry).where(*_audit_matching(actor, action, since, until))
             .order_by(AuditEntry.id.desc()).limit(limit).offset(offset))
    return list(session.scalars(query))


def count_audit(session: Session, *, actor: str | None = None, action: str | None = None,
                since: datetime | None = None, until: datetime | None = None) -> int:
    """How many audit entries match, in all (a page of them shows "50 of 1,234")."""
    query = select(func.count()).select_from(AuditEntry).where(*_audit_matching(actor, action, since, until))
    return session.scalar(query) or 0
