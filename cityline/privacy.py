"""Callers' personal data: stored encrypted, shown masked, looked up by keyed digest.

Phone numbers are normalised to digits, encrypted with Fernet (AES-128-CBC +
HMAC) under a key derived from the settings' secret, and kept beside a masked
form (138****5678) and an HMAC digest that lets cityline find repeat callers
without decrypting anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet

from cityline.errors import FieldError, Invalid

_NOT_DIGITS = re.compile(r"[\s\-()（）+]")
# Mobile and landline numbers and ID numbers as callers say them inside free text.
_NUMBER_IN_TEXT = re.compile(r"(?<!\d)(?:1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}|\d{17}[\dXx]|0\d{2,3}-?\d{7,8}|(?<!-)\d{8}(?!-))(?!\d)")


@dataclass(frozen=True)
class ProtectedPhone:
    encrypted: str
    masked: str
    digest: str


def normalise_phone(raw: str) -> str:
    digits = _NOT_DIGITS.sub("", raw)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not digits.isdigit() or not 5 <= len(digits) <= 20:
        raise Invalid(
            "caller_phone is not a phone number",
            [FieldError("caller_phone", "expected 5 to 20 digits, e.g. 13800001234")],
        )
    return digits


def mask_text(text: str) -> str:
    """Free text with phone and ID numbers masked (exports, logs)."""
    return _NUMBER_IN_TEXT.sub(lambda m: mask_phone(re.sub(r"\D", "", m.group())), text)


def mask_phone(digits: str) -> str:
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return f"{'*' * (len(digits) - 2)}{digits[-2:]}"


class Vault:
    """Encrypts and decrypts personal data under one secret."""

    def __init__(self, secret: str):
        key = hashlib.sha256(b"cityline-pii-v1:" + secret.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self._mac_key = hashlib.sha256(b"cityline-digest-v1:" + secret.encode()).digest()

    def protect_phone(self, raw: str) -> ProtectedPhone:
        digits = normalise_phone(raw)
        return ProtectedPhone(
            encrypted=self._fernet.encrypt(digits.encode()).decode(),
            masked=mask_phone(digits),
            digest=self.phone_digest(digits),
        )

    def phone_digest(self, raw: str) -> str:
        digits = normalise_phone(raw)
        return hmac.new(self._mac_key, digits.encode(), hashlib.sha256).hexdigest()[:40]

    def reveal(self, encrypted: str) -> str:
        return self._fernet.decrypt(encrypted.encode()).decode()

    def encrypt(self, text: str) -> str:
        """Any personal text (a name, an ID number) encrypted like a phone; ``reveal`` reads it."""
        return self._fernet.encrypt(text.encode()).decode()

    def derive_key(self, purpose: str) -> bytes:
        """A key of its own for another use of the same secret (keyed digests, signed codes),
        so that no two uses share a key."""
        return hmac.new(self._mac_key, b"derive:" + purpose.encode(), hashlib.sha256).digest()


@lru_cache
def default_vault() -> Vault:
    from cityline.config import get_settings

    return Vault(get_settings().resolved_secret_key())
