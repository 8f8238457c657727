"""Callers' personal data: stored encrypted, shown masked, looked up by keyed digest.

Phone numbers are normalised to digits, encrypted with Fernet (AES-128-CBC +
HMAC) under a key derived from the settings' secret, and kept beside a masked
form (138****5678) and an HMAC digest that lets cityline find repeat callers
without decrypting anything.

Whatever leaves the server (API answers, console pages, exports, briefings, logs)
shows phone and ID numbers that callers put into free text masked
(:func:`mask_text`, :func:`mask_data`); the stored text stays whole, because
operators and analysts work with it. The audited reveal is the only way back to
a full number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet

from cityline.errors import FieldError, Invalid

_NOT_DIGITS = re.compile(r"[\s\-()（）+]")
# Numbers as callers say them inside free text, tried in this order at each place (the
# first that matches a whole run of digits wins):
_NUMBER_IN_TEXT = re.compile(
    r"(?<!\d)(?:"
    # a mobile number, with a country code or not, in one piece or as 3-4-4
    r"(?P<mobile>(?:(?:\+|00)?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4})"
    # a resident ID number: 18 characters (the last may be X), or the old 15 digits
    r"|(?P<id18>\d{17}[\dXx])|(?P<id15>\d{15})"
    # a landline with its area code: 021-12345678, (021)12345678, 0571 8888 6666
    r"|(?P<landline>\(?0\d{2,3}\)?[\s-]?\d{3,4}[\s-]?\d{4})"
    # a local landline (8 digits; not a part of an order number like 20200128-00042)
    r"|(?P<local>(?<!-)\d{8}(?!-))"
    # any other long run of digits: bank cards and whatever else identifies a person
    r"|(?P<long>\d{11,})"
    r")(?!\d)"
)
# Every number above has four digits in a row (\d is any script's digit: full-width ones too), so
# a text without them has nothing to mask.
_FOUR_DIGITS = re.compile(r"\d{4}")
# Full-width digits and separators (typed with a Chinese input method) as their ASCII
# forms, one character for one, so that a match in the translated text has the same span.
_HALF_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ－\u3000（）＋", "0123456789Xx- ()+")


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
    """Free text with phone and ID numbers masked: 13912345678 → 139****5678, an ID number
    keeps its region (first 6) and its last 4 (110101********1234; an old 15-digit one its
    last 3), so the birth date never shows. Idempotent: a masked text stays as it is."""
    if not text or not _FOUR_DIGITS.search(text):  # most of what a page prints: not worth translating
        return text
    found = list(_NUMBER_IN_TEXT.finditer(text.translate(_HALF_WIDTH)))
    if not found:
        return text
    pieces, end = [], 0
    for match in found:
        pieces += [text[end:match.start()], _masked(match)]
        end = match.end()
    return "".join(pieces) + text[end:]


def _masked(match: re.Match[str]) -> str:
    digits = re.sub(r"[^\dX]", "", match.group().upper())
    kind = match.lastgroup
    if kind == "mobile":
        return mask_phone(digits[-11:])  # without the country code
    if kind == "id18":
        return f"{digits[:6]}{'*' * 8}{digits[-4:]}"
    if kind == "id15":
        return f"{digits[:6]}{'*' * 6}{digits[-3:]}"
    if kind == "long":
        return f"{'*' * (len(digits) - 4)}{digits[-4:]}"
    return mask_phone(digits)


def mask_data(value: Any) -> Any:
    """``value`` with :func:`mask_text` applied to every string inside (dicts, lists, tuples),
    as new containers: an event's stored data is never changed in place."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):  # keys too: evidence may be keyed by the words of the text
        return {mask_data(key): mask_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_data(item) for item in value]
    return value


# How callers name themselves on the phone: a surname and a form of address (张先生, 李阿姨)
# says no more than the call itself and is what an operator reads back, so it stays.
_FORMS_OF_ADDRESS = ("先生", "女士", "小姐", "阿姨", "大爷", "大妈", "师傅", "老师", "同学", "奶奶", "爷爷")


def mask_name(name: str) -> str:
    """A person's name masked like their phone: 张三 → 张*, 王小明 → 王*明, Li Lei → L*****;
    a surname with a form of address (张先生) stays. Whatever follows the name (a number
    typed into the field) is masked as free text: 王女士13600000003 → 王女士136****0003."""
    name = name.strip()
    cut = next((i for i, ch in enumerate(name) if ch.isdigit()), len(name))
    person, rest = name[:cut].rstrip(), mask_text(name[cut:])
    if not person or any(person.endswith(form) and len(person) - len(form) <= 2 for form in _FORMS_OF_ADDRESS):
        return person + rest
    if len(person) <= 1:
        return "*" + rest
    if not person.isascii() and len(person) >= 3:
        return person[0] + "*" * (len(person) - 2) + person[-1] + rest
    return person[0] + "*" * (len(person) - 1) + rest


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
            digest=self._digest(digits),
        )

    def phone_digest(self, raw: str) -> str:
        return self._digest(normalise_phone(raw))

    def _digest(self, digits: str) -> str:
        # hmac.digest: the same HMAC in one call to OpenSSL (a bulk import digests every phone)
        return hmac.digest(self._mac_key, digits.encode(), "sha256").hex()[:40]

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
