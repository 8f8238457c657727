"""Reserving idempotency keys inside a use case's transaction. Never commits."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cityline.errors import Conflict, FieldError
from cityline.idempotency.models import IdempotencyKey
from cityline.idempotency.rules import RETENTION, differing_fields, field_digests, request_digest

_PURGE_BATCH = 100  # expired rows removed by each new key, so the table stays small without a job


@dataclass(frozen=True)
class Claim:
    """The outcome of :func:`claim`: either this request holds the key (``row_id``; call
    :func:`complete` with what it made), or the key was used before, for ``replay``: by the
    same request, or by another one whose fields ``differs`` names (the caller refuses it
    with :func:`different_request`, saying as much as the asker may know)."""

    row_id: int | None
    replay: str | None
    differs: tuple[str, ...] = ()
    answer: Any = None  # what the first request recorded with ``complete(..., answer=)``


def claim(session: Session, *, scope: str, key: str, endpoint: str, request: Mapping[str, Any],
          now: datetime, label: str = "Idempotency-Key") -> Claim:
    """Reserve ``key`` in ``scope`` for this request, or find the earlier request that did.

    A concurrent request with the same key waits (PostgreSQL: on the unique index;
    SQLite: for the write lock) until the first one ends, then reads what it made.
    The same key with a different request comes back with the fields that differ; the
    same key on another endpoint raises Conflict (``label`` names the key in messages:
    "Idempotency-Key", "external_id")."""
    digests = field_digests(request, _secret())
    digest = request_digest(digests)
    # A key past its retention is free again.
    session.execute(delete(IdempotencyKey).where(
        IdempotencyKey.scope == scope, IdempotencyKey.key == key, IdempotencyKey.expires_at <= now))
    _purge_expired(session, now)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = session.execute(
        dialect.insert(IdempotencyKey)
        .values(scope=scope, key=key, endpoint=endpoint, request_digest=digest, field_digests=digests,
                resource=None, created_at=now, expires_at=now + RETENTION)
        .on_conflict_do_nothing(index_elements=["scope", "key"])
        .returning(IdempotencyKey.id)
    ).scalar_one_or_none()
    if inserted is not None:
        return Claim(row_id=inserted, replay=None)
    first = session.scalars(select(IdempotencyKey).where(
        IdempotencyKey.scope == scope, IdempotencyKey.key == key)).one()
    if first.endpoint != endpoint:
        raise Conflict(f"{label} {key!r} was first used for {first.endpoint}; use a new one here",
                       [FieldError(label, f"already used for {first.endpoint}")])
    if first.resource is None:  # not expected: the key and what it made commit together
        raise Conflict(f"the first request with {label} {key!r} has not finished; try again")
    differs = () if first.request_digest == digest else tuple(differing_fields(first.field_digests, digests))
    return Claim(row_id=None, replay=first.resource, differs=differs, answer=first.answer)


def reserve(session: Session, key: str | None, *, actor: str, endpoint: str, request: Mapping[str, Any],
            now: datetime) -> Claim | None:
    """:func:`claim` for a caller's ``Idempotency-Key`` header (None when it sent none); the
    same key with another request is 409 naming the fields that differ and what it made."""
    if not key:
        return None
    claimed = claim(session, scope=f"key:{actor}", key=key, endpoint=endpoint, request=request, now=now)
    if claimed.differs:
        raise different_request("Idempotency-Key", key, claimed.replay, claimed.differs)
    return claimed


def different_request(label: str, key: str, made: str | None, fields: Sequence[str]) -> Conflict:
    """The 409 for a key reused with another request, naming the fields that differ."""
    made_it = f" (which made {made})" if made else ""
    verb = "differs" if len(fields) == 1 else "differ"
    return Conflict(
        f"{label} {key!r} was first used with a different request{made_it}: {', '.join(fields)} {verb}; "
        f"send the same request again to get its result, or use a new {label} for a new one",
        [FieldError(f, f"differs from the first request with this {label}") for f in fields])


def complete(session: Session, claimed: Claim, resource: str, answer: Any = None) -> None:
    """Record what the request holding the key made (same transaction as making it), and what
    it answered when a replay cannot read that back from ``resource`` alone."""
    if claimed.row_id is not None:
        session.execute(update(IdempotencyKey).where(IdempotencyKey.id == claimed.row_id)
                        .values(resource=resource, answer=answer))


def _purge_expired(session: Session, now: datetime) -> None:
    # SKIP LOCKED (PostgreSQL): concurrent requests purge different rows instead of queueing
    # behind each other; SQLite runs one writer at a time anyway.
    doomed = (select(IdempotencyKey.id).where(IdempotencyKey.expires_at <= now)
              .limit(_PURGE_BATCH).with_for_update(skip_locked=True))
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(doomed.scalar_subquery())))


def _secret() -> bytes:
    """The key of the request digests, derived from the deployment's secret (as the vault's are)."""
    from cityline.config import get_settings

    return _derive(get_settings().resolved_secret_key())


def _derive(secret: str) -> bytes:
    return hashlib.sha256(b"cityline-idempotency-v1:" + secret.encode()).digest()
