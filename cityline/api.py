"""Assembles the HTTP application from each domain's router, with its liveness (``/healthz``)
and readiness (``/readyz``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker

from cityline import __version__, limits, logs, openapi_docs, problems
from cityline.accounts.api import router as accounts_router
from cityline.accounts.outbox_api import router as outbox_router
from cityline.accounts.units_api import router as units_router
from cityline.analytics.api import router as analytics_router
from cityline.checkpoints.api import router as checkpoints_router
from cityline.config import get_settings
from cityline.db import ping
from cityline.epidemic import zonemarks
from cityline.epidemic.api import router as epidemic_router
from cityline.inspection.api import router as inspection_router
from cityline.intake.api import dispatch_router
from cityline.intake.api import orders_router as intake_orders_router
from cityline.intake.api import router as intake_router
from cityline.intake.service import use_zone_lookup
from cityline.knowledge.api import public_router
from cityline.knowledge.api import router as knowledge_router
from cityline.open311.api import Open311Mount, create_open311_app
from cityline.orders.api import router as orders_router
from cityline.privacy import Vault
from cityline.routing.api import router as catalogue_router
from cityline.web import router as web_router

log = logging.getLogger(__name__)


class Readiness:
    """Whether the shared parsers and models are built, so the first orders do not wait for
    them (``/readyz``). The build runs in a thread beside the server, started with the app."""

    def __init__(self, warm_up: Callable[[], None] | None) -> None:
        self.warm_up = warm_up
        self.ready = threading.Event()
        self.failure: str | None = None
        if warm_up is None:  # nothing to build
            self.ready.set()

    def start(self) -> None:
        if not self.ready.is_set():
            threading.Thread(target=self._run, name="warm-up", daemon=True).start()

    def _run(self) -> None:
        assert self.warm_up is not None
        try:
            self.warm_up()
        except Exception as error:  # stays not ready, and says why
            log.exception("warm-up failed; /readyz answers 503")
            self.failure = type(error).__name__  # the message may name paths: it is in the log
            return
        log.info("warm: shared parsers and models built; /readyz answers 200")
        self.ready.set()


def create_app(sessions: sessionmaker[Session], vault: Vault, classifier=None,
               warm_up: Callable[[], None] | None = None) -> FastAPI:
    """``classifier(session)`` returns the triage function for new orders (None: no triage).
    ``warm_up()`` builds what requests share (``server.warm_up``); it starts with the app, and
    ``/readyz`` answers 503 until it has finished (at once when there is none)."""
    readiness = Readiness(warm_up)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        readiness.start()
        yield

    app = FastAPI(title="cityline", version=__version__, lifespan=lifespan,
                  dependencies=[Depends(limits.refuse_nul_characters)],
                  description="City service hotline: work orders, triage, dispatch, deadlines.")
    settings = get_settings()
    # Open311 GeoReport v2 under /open311/v2/: an app of its own (its errors, its OpenAPI), on this
    # app's state; innermost, so the body limit and the access log cover it too.
    app.add_middleware(Open311Mount, open311=create_open311_app(app.state))
    app.add_middleware(limits.BodyLimit, max_bytes=settings.max_request_bytes,
                       max_upload_bytes=settings.max_upload_bytes)
    app.state.sessions = sessions
    app.state.vault = vault
    app.state.classifier = classifier
    app.state.readiness = readiness
    use_zone_lookup(zonemarks.zone_of)  # new orders from a published sealed/controlled zone are marked
    problems.install(app)
    logs.install()
    # Outermost of ours: it logs a request that raised once and answers it as a problem.
    app.add_middleware(logs.AccessLog, answer=problems.unexpected)
    app.include_router(accounts_router)
    app.include_router(orders_router)
    app.include_router(intake_router)
    app.include_router(intake_orders_router)
    app.include_router(dispatch_router)
    app.include_router(units_router)
    app.include_router(outbox_router)
    app.include_router(catalogue_router)
    app.include_router(knowledge_router)
    app.include_router(public_router)
    app.include_router(analytics_router)
    app.include_router(epidemic_router)
    app.include_router(checkpoints_router)
    app.include_router(inspection_router)
    app.include_router(web_router)
    openapi_docs.install(app)

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers (it may still be warming up; see /readyz)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["meta"],
             responses={503: {"description": "still warming up, or the database cannot be reached"}})
    def readyz(request: Request) -> JSONResponse:
        """Readiness: 200 once the address parser, triage model and segmenters are built and
        while the database answers; 503 (problem+json, Retry-After) otherwise."""
        if not readiness.ready.is_set():
            detail = (f"warm-up failed ({readiness.failure}; see the server's log)" if readiness.failure
                      else "warming up: building the address parser, triage model and segmenters")
        else:
            try:
                ping(sessions)
                return JSONResponse({"status": "ready"})
            except Exception as error:
                if not problems.database_unavailable(error):
                    raise
                log.warning("not ready: the database cannot be reached", exc_info=error)
                detail = "the database cannot be reached just now"
        answer = problems.problem(503, "Service Unavailable", detail, request.url.path)
        answer.headers["Retry-After"] = str(problems.RETRY_AFTER_SECONDS)
        return answer

    return app
