"""Pure decisions about idempotency keys: digests of a request, what differs, expiry."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

# How long a key is remembered: a retry within a day gets the first result. Documented in
# the README; a client retrying later must use a new key (or look the thing up).
RETENTION = timedelta(hours=24)
_DIGEST_CHARS = 32


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def field_digests(request: Mapping[str, Any], secret: bytes) -> dict[str, str]:
    """A keyed digest (HMAC-SHA256) of each top-level field of a request. Keyed, so that a
    stored digest of a phone number or a name cannot be reversed by trying every value."""
    return {name: hmac.new(secret, _canonical(value), hashlib.sha256).hexdigest()[:_DIGEST_CHARS]
            for name, value in request.items()}


def request_digest(digests: Mapping[str, str]) -> str:
    """One digest of the whole request, from its field digests."""
    return hashlib.sha256(_canonical(dict(digests))).hexdigest()


def differing_fields(first: Mapping[str, str], again: Mapping[str, str]) -> list[str]:
    """The fields whose values differ between two requests (given or not, or not the same)."""
    return sorted(name for name in first.keys() | again.keys() if first.get(name) != again.get(name))
