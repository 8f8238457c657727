"""Domain errors shared by every package; the API maps them to RFC 9457 problems."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldError:
    field: str
    message: str
    # What went wrong as a word a client can translate ("required"); the message is English.
    code: str | None = None


class DomainError(Exception):
    """Base of errors a user can act on. ``status`` is the HTTP status it maps to.

    ``code`` names the refusal for clients that show it in another language (the console's
    ``problem.<code>`` strings), with ``params`` the values its sentence needs; ``detail``
    is the API's own English sentence."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, errors: list[FieldError] | None = None, *, code: str | None = None,
                 params: dict[str, str] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.code = code
        self.params = params or {}


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Unauthorized(DomainError):
    """No valid credentials: sign in, or send a token."""

    status = 401
    title = "Unauthorized"


class Forbidden(DomainError):
    """Signed in, but the role does not allow this."""

    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    """The request is well-formed but the current state does not allow it."""

    status = 409
    title = "Conflict"


class Invalid(DomainError):
    """The request names values that are missing or wrong (field-level details)."""

    status = 422
    title = "Invalid request"


class BadFile(Invalid):
    """A file that cannot be read at all: missing, of an unknown type, damaged, without a
    header or a required column. Nothing in it is imported; a bad row is a ``RowError``.
    An ``Invalid`` (422) so that handlers of domain errors already report it."""


@dataclass
class RowError:
    """A bad row of an imported file: its number as the user sees it (the spreadsheet row,
    the header being row 1, or the line of JSON Lines; ``cityline.tabular``) and why."""

    row: int
    message: str
    fields: list[str] = field(default_factory=list)
