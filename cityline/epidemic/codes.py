"""Pass codes (通行码): signed, compact, checkable without the database. Pure.

A code is Base32 (upper-case letters and digits 2–7, no padding: URL-safe and
QR's compact alphanumeric mode) of::

    version (1 byte) | serial (5) | valid_until, Unix seconds (4) | person_id (UTF-8) | HMAC-SHA256 (first 10)

The HMAC key is derived from the project's secret (``Vault.derive_key``), so
anyone holding the secret can check a code offline, and no one without it can
make or alter one: a changed character changes the bytes (the code must be the
exact Base32 of its bytes, so even the spare bits of the last character count)
and the MAC no longer matches — ``invalid``. Revocation needs the data and is
the service's business (``service.verify_pass``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

VERSION = 1
MAC_BYTES = 10
KEY_PURPOSE = "epidemic-pass-v1"


@dataclass(frozen=True)
class Claims:
    serial: int
    person: str
    valid_until: datetime


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:MAC_BYTES]


def sign(key: bytes, serial: int, person: str, valid_until: datetime) -> str:
    """The code for a pass numbered ``serial`` of ``person``, valid until ``valid_until``."""
    seconds = int(valid_until.timestamp())
    payload = (bytes([VERSION]) + serial.to_bytes(5, "big") + seconds.to_bytes(4, "big")
               + person.encode())
    return _b32(payload + _mac(key, payload))


def read(key: bytes, code: str) -> Claims | None:
    """What a genuine code says, or None when the code was changed or made up."""
    text = code.strip()
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        return None
    if _b32(raw) != text or len(raw) < 1 + 5 + 4 + 1 + MAC_BYTES or raw[0] != VERSION:
        return None
    payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(key, payload)):
        return None
    try:
        person = payload[10:].decode()
    except UnicodeDecodeError:
        return None
    valid_until = datetime.fromtimestamp(int.from_bytes(payload[6:10], "big"), UTC)
    return Claims(int.from_bytes(payload[1:6], "big"), person, valid_until)
