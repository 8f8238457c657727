"""What a request may carry, the same on every database.

- The body: at most ``CITYLINE_MAX_REQUEST_BYTES`` (1 MiB by default), counted as it
  is read, chunked or not, whatever Content-Length says; more is 413 (:class:`BodyLimit`,
  an ASGI middleware). A file upload (``multipart/form-data``: the epidemic data files)
  may carry up to ``CITYLINE_MAX_UPLOAD_BYTES`` (100 MiB).
- Strings: every field of every request schema (:class:`RequestBody`) has a maximum
  length, and no string may hold a NUL character (``\\x00``): PostgreSQL cannot store
  one in text (the request failed with a 500) while SQLite stored it, so cityline
  refuses it with a 422 naming the field, in bodies and in query and path parameters
  (:func:`refuse_nul_characters`). Refused, not stripped: what is stored is what the
  caller sent, and a retry of the same request still matches its first try.
- Pages: ``page`` ≤ :data:`MAX_PAGE` (a page number near 2**63 overflowed the SQL
  offset: a 500 on both databases).
- Times and days between :data:`EARLIEST` and :data:`LATEST` (``0001-01-01T00:00`` in
  Shanghai is before year 1 in UTC: an OverflowError, a 500), in bodies (every
  :class:`RequestBody`) and in query parameters typed :data:`Moment` or :data:`Day`; and
  written as ISO 8601 text, never as a number (pydantic reads ``20200128`` as that many
  seconds since 1970: orders "received from 20200128" were those since 1970-08-22).
- Text searches escape LIKE's wildcards (SQLAlchemy's ``autoescape=True``), so ``%``
  and ``_`` match themselves (``q=%`` matched every order).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, get_args

from fastapi import Path, Query, Request
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationInfo,
    field_validator,
)
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cityline.errors import FieldError, Invalid
from cityline.problems import problem

MAX_PAGE = 100_000
DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024
# The length of a string field that does not say otherwise (codes, names, short notes).
DEFAULT_MAX_STRING = 200
NUL_MESSAGE = "contains a NUL character (\\x00), which cityline does not accept"

EARLIEST, LATEST = date(1900, 1, 1), date(2100, 12, 31)
OUT_OF_RANGE = f"must fall between {EARLIEST} and {LATEST}"

Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"1 to {MAX_PAGE}")]
# The id of a row in a path: tables' ids are INTEGER, and PostgreSQL refused a larger number (500).
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def in_range(value: date) -> date:
    """``value`` (a date or a datetime) when it lies between EARLIEST and LATEST."""
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise ValueError(OUT_OF_RANGE)
    return value


_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")
NOT_A_NUMBER = "must be written as ISO 8601 (YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS][+08:00]), not as a number"


def not_a_number(value: Any) -> Any:
    """``value`` unless it is a number, or text holding only one (see the module's doc)."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError(NOT_A_NUMBER)
    return value


def _is_time(annotation: Any) -> bool:
    """Whether a field's type is a date or a time (or one of them or None)."""
    return annotation in (date, datetime) or any(_is_time(a) for a in get_args(annotation))


Moment = Annotated[datetime, BeforeValidator(not_a_number), AfterValidator(in_range)]
Day = Annotated[date, BeforeValidator(not_a_number), AfterValidator(in_range)]


def has_nul(value: Any) -> bool:
    """True when ``value`` (a string, or strings inside lists and dicts) holds a NUL."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    return False


class RequestBody(BaseModel):
    """The base of every request schema: strings are bounded (``DEFAULT_MAX_STRING`` unless a
    field says otherwise) and hold no NUL character, times and days are ISO 8601 text and in
    range (422 naming the field)."""

    model_config = ConfigDict(str_max_length=DEFAULT_MAX_STRING)

    @field_validator("*", mode="before")
    @classmethod
    def _times_as_text(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        return not_a_number(value) if field is not None and _is_time(field.annotation) else value

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        if has_nul(value):
            raise ValueError(NUL_MESSAGE)
        if isinstance(value, date):
            in_range(value)
        return value


async def refuse_nul_characters(request: Request) -> None:
    """A dependency of the whole app: a query or path parameter holding a NUL is 422. Async
    (it only reads the request): a plain function would cost every request a trip to the
    thread pool and back."""
    errors = [FieldError(name, NUL_MESSAGE) for name, value in request.query_params.multi_items()
              if has_nul(name) or has_nul(value)]
    errors += [FieldError(name, NUL_MESSAGE) for name, value in request.path_params.items() if has_nul(value)]
    if errors:
        raise Invalid("the request has a NUL character (\\x00) in a parameter", errors)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the bytes read pass the limit; FastAPI lets an
    HTTPException through its body parsing, and ``problems.py`` answers it."""

    def __init__(self, limit: int, setting: str = "CITYLINE_MAX_REQUEST_BYTES") -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes ({setting})")


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is refused with 413 problem+json.

    A declared Content-Length over the limit is refused before anything is read; otherwise
    the bytes are counted as the app reads them, so a chunked body, or one longer than
    its Content-Length says, stops at the limit too (the app never sees more). A file
    upload (multipart/form-data) has its own, larger limit ``max_upload_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, kind = _header(scope, b"content-length"), _header(scope, b"content-type") or ""
        if kind.lower().startswith("multipart/form-data"):
            limit, setting = self.max_upload_bytes, "CITYLINE_MAX_UPLOAD_BYTES"
        else:
            limit, setting = self.max_bytes, "CITYLINE_MAX_REQUEST_BYTES"
        if declared is not None and declared.isdigit() and int(declared) > limit:
            too_large = BodyTooLarge(limit, setting)
            await problem(413, "Content Too Large", str(too_large.detail), scope["path"])(scope, receive, send)
            return
        read = 0

        async def counted() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > limit:
                    raise BodyTooLarge(limit, setting)
            return message

        await self.app(scope, counted, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None
