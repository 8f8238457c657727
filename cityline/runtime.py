"""Wiring of a running cityline: the database (migrated on first use), the vault, triage."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker

from cityline.config import get_settings
from cityline.db import default_sessionmaker
from cityline.privacy import default_vault


@lru_cache
def sessions() -> sessionmaker[Session]:
    """Sessions on the configured database, brought to the current schema once per process."""
    from cityline.schema import upgrade

    upgrade(get_settings().resolved_database_url())
    return default_sessionmaker()


def classifier(session: Session):
    """The triage function new orders go through: the active trained model, or the rules."""
    from cityline.intake.triage import classify_with

    return classify_with(session)


def app():
    from cityline.api import create_app

    return create_app(sessions(), default_vault(), classifier=classifier)


def serve(host: str, port: int, *, worker: bool = True) -> None:
    """Serve the app; with ``worker``, the SLA reminder worker runs beside it in a thread
    (deliveries appended to ``outbox.log`` in the data directory)."""
    import threading

    import uvicorn

    stop = threading.Event()
    if worker:
        from cityline.sla.messages import LogSender, reminder_handler
        from cityline.sla.worker import run_forever

        settings = get_settings()
        sender = LogSender(settings.data_dir / "outbox.log")
        thread = threading.Thread(target=run_forever, daemon=True, name="sla-worker",
                                  args=(sessions(), f"serve:{port}", reminder_handler(settings.timezone), sender, stop))
        thread.start()
    try:
        uvicorn.run(app(), host=host, port=port)
    finally:
        stop.set()
