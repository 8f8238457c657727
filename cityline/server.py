"""A running cityline server: the HTTP application on the configured database, with triage,
warmed up before it reports ready (``/readyz``), and the worker that fires deadline reminders
and delivers the outbox beside it."""

from __future__ import annotations

import gc
import socket

from sqlalchemy.orm import Session, sessionmaker

from cityline import logs, runtime
from cityline.config import get_settings
from cityline.intake.triage import classify_with
from cityline.privacy import default_vault

# A text that touches every table the parser and triage build: Chinese, traditional
# characters, Latin and Cyrillic letters, Hangul.
WARM_TEXT = "静安区曹家渡街道 長寧區 Jing'an District Сюйхуэй 민항구 홍차오진 老人透析药吃完了，口罩在哪里预约"


def warm_up(sessions: sessionmaker[Session]) -> None:
    """Build, once and before the server reports ready, what every request shares: the
    address parser's tables (divisions, gazetteer, traditional characters, foreign
    spellings with jionlp's pinyin), the shared Chinese segmenter, the triage model and
    its lexicon words, the knowledge base's words and index, and the deadline policies.
    Each is built under its own lock (``cityline.once``, ``cityline.text``), so a request
    arriving meanwhile waits for the build instead of starting another."""
    from cityline.db import read_transaction
    from cityline.geo import parse_address
    from cityline.knowledge.search import suggest
    from cityline.sla.tracking import policies
    from cityline.text import segmenter

    parse_address(WARM_TEXT)
    segmenter()
    policies()
    # Only reads, however long the builds take (seconds; more on a busy machine): writers
    # beside it (the worker, the demo's live feed) must not wait for them.
    with read_transaction(sessions) as session:
        classify_with(session)(WARM_TEXT, None)
        suggest(session, WARM_TEXT)
    # What was just built lives as long as the process: out of the cycle collector's sight, whose
    # full passes would otherwise walk those millions of objects again, a pause in whichever
    # request they fall on.
    gc.collect()
    gc.freeze()


def app():
    from functools import partial

    from cityline.api import create_app

    sessions = runtime.sessions()
    return create_app(sessions, default_vault(), classifier=classify_with, warm_up=partial(warm_up, sessions))


# How long a server process may take to answer its supervisor's ping before it is killed and
# started again. uvicorn's 5 s killed every process still importing and warming up on a busy
# machine, over and over.
WORKER_HEALTHCHECK_SECONDS = 60


def worker_app():
    """The app in one of ``serve --workers N``'s processes (uvicorn starts each afresh, so its
    log records are routed here like the parent's)."""
    logs.configure()
    return app()


def tcp_listener(sock: socket.socket) -> socket.socket:
    """``sock`` marked as TCP (protocol ``IPPROTO_TCP``, not 0), so that asyncio sets
    TCP_NODELAY on every connection it accepts. uvicorn binds the shared socket of its
    worker processes with protocol 0, which asyncio's check skips: each answer (headers
    and body written apart) then waited on Nagle's algorithm and the caller's delayed ACK,
    a 40 ms floor under even ``/healthz``. (uvloop, which uvicorn runs on where it is
    installed, sets TCP_NODELAY itself; this keeps asyncio's loop right where it is not.)"""
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto == socket.IPPROTO_TCP:
        return sock
    return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())


def run_processes(app_factory: str, workers: int, host: str, port: int) -> None:
    """``workers`` uvicorn processes, each building its app with ``app_factory`` (an import
    string), answering on ``host``:``port``; what ``uvicorn.run(..., workers=N)`` does, but
    on a listening socket whose connections get TCP_NODELAY (``tcp_listener``)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    # cityline's own access line (logs.AccessLog) replaces uvicorn's, as in serve.
    config = uvicorn.Config(app_factory, factory=True, workers=workers, host=host, port=port, log_config=None,
                            access_log=False, timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS)
    Multiprocess(config, sockets=[tcp_listener(config.bind_socket())]).run()


def serve(host: str, port: int, *, worker: bool = True, workers: int = 1) -> None:
    """Serve the app; with ``worker``, one worker thread beside it fires SLA timers and
    delivers the outbox (notices appended to ``outbox.log`` in the data directory,
    webhooks POSTed), and another brings the analytics export up to date every
    ``analytics_export_seconds`` (one export at a time across processes), which the
    situation page reads.

    ``workers`` > 1: that many server processes answer requests on the one port (uvicorn's
    workers; each its own Python, so requests use every core). The deadline/outbox worker
    still runs once, as a thread of this parent process, which only supervises them."""
    import threading

    import uvicorn

    logs.configure()  # before the worker starts: its records go the same way
    stop = threading.Event()
    if worker and get_settings().analytics_export_seconds > 0:
        from cityline.analytics.service import export_in_background

        threading.Thread(target=export_in_background, daemon=True, name="analytics-export",
                         args=(runtime.sessions(), stop, get_settings().analytics_export_seconds)).start()
    if worker:
        from cityline.outbox.identity import WorkerIdentity
        from cityline.outbox.senders import standard
        from cityline.sla.messages import reminder_handler
        from cityline.sla.worker import run_forever

        settings = get_settings()
        sender = standard(runtime.sessions(), settings.data_dir / "outbox.log", default_vault())
        thread = threading.Thread(target=run_forever, daemon=True, name="sla-worker",
                                  args=(runtime.sessions(), WorkerIdentity.new(f"serve:{port}"),
                                        reminder_handler(settings.timezone),
                                        sender, stop))
        thread.start()
        from cityline.checkpoints import service as checkpoints
        from cityline.checkpoints import worker as checkpoint_watch

        # Vehicles past their closed loop's time become warning orders (delivered by the thread above).
        threading.Thread(target=checkpoint_watch.run_forever, daemon=True, name="checkpoint-watch",
                         args=(runtime.sessions(), checkpoints.env_for(default_vault()), stop),
                         kwargs={"interval": settings.checkpoint_watch_seconds}).start()
    try:
        # cityline's own access line (logs.AccessLog: path masked, duration) replaces uvicorn's,
        # and its records go through the root handler like everyone else's.
        if workers > 1:
            run_processes("cityline.server:worker_app", workers, host, port)
        else:
            uvicorn.run(app(), host=host, port=port, log_config=None, access_log=False)
    finally:
        stop.set()
