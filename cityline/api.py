"""Assembles the HTTP application from each domain's router."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from cityline import __version__, logs, problems
from cityline.accounts.api import router as accounts_router
from cityline.accounts.outbox_api import router as outbox_router
from cityline.accounts.units_api import router as units_router
from cityline.analytics.api import router as analytics_router
from cityline.epidemic.api import router as epidemic_router
from cityline.intake.api import dispatch_router
from cityline.intake.api import orders_router as intake_orders_router
from cityline.intake.api import router as intake_router
from cityline.knowledge.api import public_router
from cityline.knowledge.api import router as knowledge_router
from cityline.orders.api import router as orders_router
from cityline.privacy import Vault
from cityline.routing.api import router as catalogue_router
from cityline.web import router as web_router


def create_app(sessions: sessionmaker[Session], vault: Vault, classifier=None) -> FastAPI:
    """``classifier(session)`` returns the triage function for new orders (None: no triage)."""
    app = FastAPI(title="cityline", version=__version__,
                  description="City service hotline: work orders, triage, dispatch, deadlines.")
    app.state.sessions = sessions
    app.state.vault = vault
    app.state.classifier = classifier
    problems.install(app)
    logs.install()
    app.add_middleware(logs.AccessLog)
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
    app.include_router(web_router)

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
