"""A running cityline server: the HTTP application on the configured database, with triage,
and the worker that fires deadline reminders and delivers the outbox beside it."""

from __future__ import annotations

from cityline import logs, runtime
from cityline.config import get_settings
from cityline.intake.triage import classify_with
from cityline.privacy import default_vault


def app():
    from cityline.api import create_app

    return create_app(runtime.sessions(), default_vault(), classifier=classify_with)


def serve(host: str, port: int, *, worker: bool = True) -> None:
    """Serve the app; with ``worker``, one worker thread beside it fires SLA timers and
    delivers the outbox (notices appended to ``outbox.log`` in the data directory,
    webhooks POSTed)."""
    import threading

    import uvicorn

    logs.configure()  # before the worker starts: its records go the same way
    stop = threading.Event()
    if worker:
        from cityline.outbox.senders import standard
        from cityline.sla.messages import reminder_handler
        from cityline.sla.worker import run_forever

        settings = get_settings()
        sender = standard(runtime.sessions(), settings.data_dir / "outbox.log")
        thread = threading.Thread(target=run_forever, daemon=True, name="sla-worker",
                                  args=(runtime.sessions(), f"serve:{port}", reminder_handler(settings.timezone),
                                        sender, stop))
        thread.start()
    try:
        # cityline's own access line (logs.AccessLog: path masked, duration) replaces uvicorn's,
        # and its records go through the root handler like everyone else's.
        uvicorn.run(app(), host=host, port=port, log_config=None, access_log=False)
    finally:
        stop.set()
