"""What crosses the API: the ``Idempotency-Key`` request header."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

IdempotencyKeyHeader = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$",
    description="Any unique string of printable ASCII (a UUID): a retry with the same key and body "
                "gets the first result (200); the same key with another body is 409. Kept 24 hours.")]
