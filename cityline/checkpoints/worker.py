"""The overdue check on a timer: a pass every ``interval`` seconds beside the SLA worker (the
thread ``serve`` starts, or ``cityline checkpoints overdue --every``). Each pass is one
transaction of ``service.check_overdue``, which opens each warning once: a pass repeated, or
run by two workers at once, adds nothing (the warning's ``external_id``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from cityline.checkpoints import service
from cityline.db import transaction, utcnow

log = logging.getLogger(__name__)
ACTOR = "checkpoint-watch"  # who the warning orders say opened them


def run_once(sessions: sessionmaker[Session], env: service.Env, now: datetime) -> list[service.Warned]:
    with transaction(sessions) as session:
        return service.check_overdue(session, env, actor=ACTOR, now=now)


def run_forever(sessions: sessionmaker[Session], env: service.Env, stop: threading.Event, *,
                interval: float = 60.0, clock: Callable[[], datetime] = utcnow) -> None:
    """Until ``stop`` is set; a failed pass is logged and tried again on the next."""
    while not stop.is_set():
        try:
            warned = run_once(sessions, env, clock())
            if warned:
                log.info("checkpoints: %d overdue vehicles warned", len(warned))
        except Exception:
            log.exception("checkpoints: the overdue check failed; trying again in %.0f s", interval)
        stop.wait(interval)
