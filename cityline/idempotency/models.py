"""The reserved idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityline.db import Base, UTCDateTime

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class IdempotencyKey(Base):
    """One key of one scope (a caller's ``Idempotency-Key``, or an order's external_id):
    the request that first used it (as keyed digests) and what it made."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Whose key: "key:<actor>" for an Idempotency-Key, "orders.external_id" for an order's id.
    scope: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(255))
    endpoint: Mapped[str] = mapped_column(String(100))  # "POST /api/orders"
    request_digest: Mapped[str] = mapped_column(String(64))
    field_digests: Mapped[dict[str, str]] = mapped_column(JSON)  # field → digest of its value, to say what differs
    resource: Mapped[str | None] = mapped_column(String(200))  # what the first request made: its number or id
    # What it answered, when that is not one thing to read back (passes issued at once), in the
    # form its endpoint chooses (no secrets: a pass's code is signed again from its row).
    answer: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
