"""Errors as RFC 9457 problem details (application/problem+json) with field-level details.

Every answer that is an error is a problem, including the ones no handler expected:
:func:`unexpected` answers a request that raised (``logs.AccessLog`` calls it and logs what
failed once) with ``503`` and ``Retry-After`` when the database could not be reached or was
busy — the same request will work once it is back — and with a bare ``500`` otherwise, never
the exception's message or traceback (a database error's message carries the order's text).
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa
from starlette.exceptions import HTTPException

from cityline.errors import DomainError
from cityline.privacy import mask_text

PROBLEM = "application/problem+json"
RETRY_AFTER_SECONDS = 5  # a restarting PostgreSQL or a writer holding SQLite's lock: seconds, not minutes
# SQLite's refusals that pass: another writer held the lock past the busy timeout, the file
# could not be opened or read.
_SQLITE_UNAVAILABLE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR")
# PostgreSQL's (SQLSTATE classes): no connection (08), out of resources such as connections
# (53), shut down or restarting (57P), a deadlock or serialization failure (40).
_POSTGRES_UNAVAILABLE = ("08", "53", "57P", "40")
_POSTGRES_STATEMENT_TIMEOUT = "57014"  # query_canceled: past statement_timeout (or cancelled by an admin)


def problem(status: int, title: str, detail: str, instance: str, errors: list[dict] | None = None, *,
            code: str | None = None, params: dict[str, str] | None = None) -> JSONResponse:
    # A detail or path may quote what was asked for ("no order numbered 13700000001"):
    # numbers masked, like everything else the API answers.
    body: dict = {"type": "about:blank", "title": title, "status": status, "detail": mask_text(detail),
                  "instance": mask_text(instance)}
    if code:  # a name for the refusal, for clients that say it in their user's language
        body["code"] = code
    if params:
        body["params"] = {k: mask_text(str(v)) for k, v in params.items()}
    if errors:
        body["errors"] = [{**e, "message": mask_text(str(e["message"]))} for e in errors]
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


# Limits of a refused value that a translated message names ("at least 10 characters").
_LIMITS = ("min_length", "max_length", "ge", "gt", "le", "lt")


def _field_error(field: str, message: str, code: str | None, limits: dict | None = None) -> dict:
    error: dict = {"field": field, "message": message}
    if code:
        error["code"] = code
    shown = {k: v for k, v in (limits or {}).items() if k in _LIMITS and isinstance(v, int | float | str)}
    if shown:
        error["params"] = shown
    return error


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        errors = [_field_error(e.field, e.message, e.code) for e in exc.errors]
        return problem(exc.status, exc.title, exc.detail, request.url.path, errors, code=exc.code,
                       params=exc.params)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # pydantic's error type ("missing", "string_too_short") is the code clients translate.
        errors = [
            _field_error(".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]), e["msg"], e.get("type"),
                         e.get("ctx"))
            for e in exc.errors()
        ]
        return problem(422, "Invalid request", "the request has invalid fields", request.url.path, errors,
                       code="invalid_fields")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        """The framework's own refusals (no such route, wrong method, a body over the limit)
        as problems too."""
        title = "Content Too Large" if exc.status_code == 413 else HTTPStatus(exc.status_code).phrase
        answer = problem(exc.status_code, title, str(exc.detail), request.url.path)
        answer.headers.update(exc.headers or {})
        return answer


def database_unavailable(error: BaseException) -> bool:
    """Did the request fail because the database could not answer it just now (down, restarting,
    unreachable, out of connections, locked by another writer), so that the same request may
    simply be sent again? Not for a statement the database refused (a constraint, bad SQL)."""
    if isinstance(error, sa.DisconnectionError | sa.TimeoutError):  # TimeoutError: the pool's
        return True
    if not isinstance(error, sa.OperationalError | sa.InterfaceError):
        return False
    if error.connection_invalidated:
        return True
    cause = error.orig
    name = getattr(cause, "sqlite_errorname", None)
    if name is not None:
        return name.startswith(_SQLITE_UNAVAILABLE)
    state = getattr(cause, "sqlstate", None)
    return state is None or state.startswith(_POSTGRES_UNAVAILABLE)  # None: lost before any answer


def statement_timed_out(error: BaseException) -> bool:
    """Did PostgreSQL cancel a statement that ran past ``CITYLINE_DB_STATEMENT_TIMEOUT_MS``?"""
    return (isinstance(error, sa.OperationalError)
            and getattr(error.orig, "sqlstate", None) == _POSTGRES_STATEMENT_TIMEOUT)


def unexpected(error: BaseException, path: str) -> JSONResponse:
    """The answer to a request no handler answered: 503 with Retry-After when the database was
    unavailable (:func:`database_unavailable`) or cancelled a statement that ran too long
    (:func:`statement_timed_out`), else 500. None says more than that: the caller logs what
    failed."""
    if statement_timed_out(error):
        answer = problem(503, "Service Unavailable",
                         "the database stopped this request: it took longer than the statement "
                         "timeout allows; try again later or ask for less (a shorter period, "
                         "a smaller page)", path, code="statement_timeout")
        answer.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return answer
    if database_unavailable(error):
        answer = problem(503, "Service Unavailable",
                         "the database is unavailable just now; send the request again shortly "
                         "(with the same Idempotency-Key it is never recorded twice)", path)
        answer.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return answer
    return problem(500, "Internal Server Error",
                   "the server failed to answer this request; the failure is in its log", path)
