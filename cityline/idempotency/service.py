"""Reserving idempotency keys inside a use case's transaction. Never commits."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
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
    digests = request_digests(request)
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
    return replay_of(first, endpoint=endpoint, digests=digests, label=label)


def replay_of(first: IdempotencyKey | Held, *, endpoint: str, digests: Mapping[str, str], label: str) -> Claim:
    """The claim of a key used before (``first``: its stored row, or its :class:`Held` in a
    batch), for a request with these field digests; Conflict when it cannot be replayed."""
    key = first.key
    if first.endpoint != endpoint:
        raise Conflict(f"{label} {key!r} was first used for {first.endpoint}; use a new one here",
                       [FieldError(label, f"already used for {first.endpoint}")])
    if first.resource is None:  # not expected: the key and what it made commit together
        raise Conflict(f"the first request with {label} {key!r} has not finished; try again")
    return Claim(row_id=None, replay=first.resource, differs=differs(first, digests), answer=first.answer)


def differs(first: IdempotencyKey | Held, digests: Mapping[str, str]) -> tuple[str, ...]:
    """The fields in which a request (its field digests) differs from the first with the key."""
    if first.request_digest == request_digest(digests):
        return ()
    return tuple(differing_fields(first.field_digests, digests))


@dataclass
class Held:
    """A key of a batch (:func:`claim_many`) as its row stands while the batch's requests are taken
    in order: ``row_id`` when this batch reserved it (and ``resource`` once a request of the batch
    made something with it), else the row stored before the batch."""

    key: str
    endpoint: str
    row_id: int | None
    request_digest: str
    field_digests: dict[str, str]
    resource: str | None = None
    answer: Any = None


def request_digests(request: Mapping[str, Any]) -> dict[str, str]:
    """The field digests :func:`claim` keeps of a request (to compare a batch's repeats with)."""
    return field_digests(request, _secret())


def claim_many(session: Session, *, scope: str, endpoint: str, requests: Mapping[str, Mapping[str, str]],
               now: datetime) -> dict[str, Held]:
    """:func:`claim` for the keys of a batch at once (``requests``: the :func:`request_digests` of
    each key's first request):
    expired rows of these keys removed and the free keys reserved in one statement each, the
    keys used before read in one query. Concurrent batches with a key in common wait for each
    other on it as single claims do (keys are reserved in sorted order, so they cannot deadlock).

    The caller takes the batch's requests in order (:func:`replay_of` for a key already made,
    else the key is free for the request), marks what each made on its :class:`Held`, and
    stores the outcome with :func:`settle_many` in the same transaction."""
    if not requests:
        return {}
    keys = sorted(requests)
    digests = requests
    session.execute(delete(IdempotencyKey).where(
        IdempotencyKey.scope == scope, IdempotencyKey.key.in_(keys), IdempotencyKey.expires_at <= now))
    _purge_expired(session, now, _PURGE_BATCH * len(keys))  # as much as single claims would purge
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = IdempotencyKey.__table__  # plain rows, one statement compiled once (not a VALUES list each time)
    inserted = dict(session.execute(
        dialect.insert(table).on_conflict_do_nothing(index_elements=["scope", "key"])
        .returning(table.c.key, table.c.id),
        [{"scope": scope, "key": key, "endpoint": endpoint, "request_digest": request_digest(digests[key]),
          "field_digests": digests[key], "resource": None, "created_at": now, "expires_at": now + RETENTION}
         for key in keys]).all())
    held = {key: Held(key, endpoint, row_id, request_digest(digests[key]), digests[key])
            for key, row_id in inserted.items()}
    if len(held) < len(keys):
        for first in session.scalars(select(IdempotencyKey).where(
                IdempotencyKey.scope == scope, IdempotencyKey.key.in_([k for k in keys if k not in held]))):
            held[first.key] = Held(first.key, first.endpoint, None, first.request_digest, first.field_digests,
                                   first.resource, first.answer)
    return held


def settle_many(session: Session, held: Mapping[str, Held]) -> None:
    """Store what became of the keys :func:`claim_many` reserved: each with what its request made
    (and that request's digests: a first request refused leaves the key to a later one), and
    those of requests all refused freed again, as a refused single claim is rolled back."""
    ours = [h for h in held.values() if h.row_id is not None]
    made = [{"row_id": h.row_id, "resource": h.resource, "request_digest": h.request_digest,
             "field_digests": h.field_digests} for h in ours if h.resource is not None]
    if made:
        table = IdempotencyKey.__table__
        session.execute(update(table).where(table.c.id == bindparam("row_id")).values(
            resource=bindparam("resource"), request_digest=bindparam("request_digest"),
            field_digests=bindparam("field_digests")), made)
    freed = [h.row_id for h in ours if h.resource is None]
    if freed:
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(freed)))


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


def _purge_expired(session: Session, now: datetime, limit: int = _PURGE_BATCH) -> None:
    # SKIP LOCKED (PostgreSQL): concurrent requests purge different rows instead of queueing
    # behind each other; SQLite runs one writer at a time anyway.
    doomed = (select(IdempotencyKey.id).where(IdempotencyKey.expires_at <= now)
              .limit(limit).with_for_update(skip_locked=True))
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(doomed.scalar_subquery())))


def _secret() -> bytes:
    """The key of the request digests, derived from the deployment's secret (as the vault's are)."""
    from cityline.config import get_settings

    return _derive(get_settings().resolved_secret_key())


def _derive(secret: str) -> bytes:
    return hashlib.sha256(b"cityline-idempotency-v1:" + secret.encode()).digest()
