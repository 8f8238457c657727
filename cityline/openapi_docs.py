"""The OpenAPI schema says every status an operation can answer, and that refusals are
RFC 9457 problems (``application/problem+json``, the ``Problem`` schema; ``problems.py``).

FastAPI documents only a route's success and a 422 with its own body, which cityline never
sends. :func:`install` rewrites the generated schema once, with the statuses of each kind of
operation:

- 401, 403: it needs a principal (it has ``security``: ``accounts.deps`` declares the
  token and the cookie): no or a revoked token, or a role without the permission (or,
  with the console's cookie, a missing CSRF token);
- 404: it names something in its path;
- 409: it takes an ``Idempotency-Key`` (the key used with another request);
- 400, 413: it takes a body: one that cannot be parsed, or one larger than
  ``CITYLINE_MAX_REQUEST_BYTES`` (``…_UPLOAD_BYTES`` for a file);
- 422: every operation (bad parameters, a NUL character in any of them, bad bodies);
- 503: it is under ``/api/`` and so reads the database (a lost database: Retry-After).

A route documents what only it answers (a 404 without a path parameter, a 409 of its
state) in its own ``responses=`` with a description; every 4xx and 5xx gets the
problem as its content. ``tests/test_fuzz.py`` holds the schema to what the API answers.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from cityline.problems import PROBLEM

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; ``errors`` names each field that was wrong.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string", "description": "the refusal named for translation, e.g. move.not_paused"},
        "params": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "the values the code's sentence names"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "message"],
            "properties": {"field": {"type": "string"}, "message": {"type": "string"},
                           "code": {"type": "string", "description": "e.g. required, missing, string_too_short"},
                           "params": {"type": "object", "description": "limits such as min_length"}}}},
    },
}

# What each status means when a route does not say more.
MEANING = {
    400: "the body cannot be read as its content type says (not JSON, a damaged form)",
    401: "no valid credentials: sign in (POST /api/auth/login) or send an API token",
    403: "the roles do not allow this (or the console's X-CSRF-Token is missing)",
    404: "nothing by that name (or it is outside the caller's reach)",
    409: "the current state does not allow this, or the Idempotency-Key was used with another request",
    413: "the request body is larger than the server accepts",
    422: "a parameter or a field of the body is missing or wrong; ``errors`` names each",
    503: "the database cannot be reached; try again after Retry-After seconds",
}


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` document problems (see the module's doc)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            _document(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            kind = _statuses(path, operation, bool(operation.get("security")))
            own = {int(s) for s in responses if s.isdigit() and int(s) >= 400}
            for status in sorted(kind | own):
                text = responses.get(str(status), {}).get("description")
                if text in (None, "Validation Error", "Additional Response"):  # FastAPI's defaults
                    text = MEANING.get(status, HTTPStatus(status).phrase)
                responses[str(status)] = _problem(text)
    # FastAPI's validation schemas, now unreferenced.
    for name in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(name, None)


def _statuses(path: str, operation: dict[str, Any], needs_principal: bool) -> set[int]:
    """The problems an operation answers by its kind."""
    parameters = operation.get("parameters", [])
    statuses = {422}
    if needs_principal:
        statuses |= {401, 403}
    if path.startswith("/api/"):
        statuses.add(503)
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if any(p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key" for p in parameters):
        statuses.add(409)
    if "requestBody" in operation:
        statuses |= {400, 413}
    return statuses


def _problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
