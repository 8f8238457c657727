"""Errors as RFC 9457 problem details (application/problem+json) with field-level details."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from cityline.errors import DomainError
from cityline.privacy import mask_text

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, instance: str, errors: list[dict] | None = None) -> JSONResponse:
    # A detail or path may quote what was asked for ("no order numbered 13700000001"):
    # numbers masked, like everything else the API answers.
    body = {"type": "about:blank", "title": title, "status": status, "detail": mask_text(detail),
            "instance": mask_text(instance)}
    if errors:
        body["errors"] = [{**e, "message": mask_text(str(e["message"]))} for e in errors]
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        errors = [{"field": e.field, "message": e.message} for e in exc.errors]
        return problem(exc.status, exc.title, exc.detail, request.url.path, errors)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]), "message": e["msg"]}
            for e in exc.errors()
        ]
        return problem(422, "Invalid request", "the request has invalid fields", request.url.path, errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        """The framework's own refusals (no such route, wrong method, a body over the limit)
        as problems too."""
        title = "Content Too Large" if exc.status_code == 413 else HTTPStatus(exc.status_code).phrase
        answer = problem(exc.status_code, title, str(exc.detail), request.url.path)
        answer.headers.update(exc.headers or {})
        return answer
