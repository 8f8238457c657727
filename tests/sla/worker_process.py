"""A timer worker or outbox sender in its own process, for the crash and
concurrency tests: ``python -m tests.sla.worker_process '<json config>'``.

Its handler and sender are deliberately slow so a test can kill it mid-run.
Each handler call is appended to a file so tests can see the work done.

With ``name`` (instead of ``worker_id``) it runs as a real worker does: a fresh
:class:`WorkerIdentity` of that name, which first takes back what dead predecessors
of the name held."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from cityline.db import make_engine, make_sessionmaker, utcnow
from cityline.outbox.identity import WorkerIdentity
from cityline.outbox.senders import LogSender
from cityline.outbox.service import Message
from cityline.outbox.worker import OutboxItem, deliver_outbox
from cityline.sla.worker import Handler, RunReport, fire_due_timers, take_back


def slow_handler(calls: Path, delay: float) -> Handler:
    def handle(timer) -> list[Message]:
        with calls.open("a") as out:
            out.write(f"{timer.id}\n")
        time.sleep(delay)
        return [
            Message("test.reminder", timer.recipient or "UNIT", timer.order_id, {"timer_id": timer.id}),
            Message("test.escalation", "role:supervisor", timer.order_id, {"timer_id": timer.id}),
        ]

    return handle


def slow_sender(log: Path, delay: float):
    deliver = LogSender(log)

    def send(item: OutboxItem) -> None:
        time.sleep(delay)  # the slow network, then the delivery itself
        deliver(item)

    return send


def main(config: dict) -> None:
    factory = make_sessionmaker(make_engine(config["url"]))
    if config.get("ready_file"):
        # Imported and connected: a test that starts several workers "at once" waits for
        # every ready file before it says go, so a slow start is not a head start.
        with factory() as session:
            session.execute(text("SELECT 1"))
        Path(config["ready_file"]).touch()
    go = Path(config["go_file"]) if config.get("go_file") else None
    while go is not None and not go.exists():
        time.sleep(0.005)
    fixed_now = datetime.fromisoformat(config["now"]) if config.get("now") else None
    lease = timedelta(seconds=config["lease_seconds"])
    worker = WorkerIdentity.new(config["name"]) if config.get("name") else config.get("worker_id", "outbox")
    if config.get("pid_file"):
        Path(config["pid_file"]).write_text(str(worker))
    if isinstance(worker, WorkerIdentity):
        take_back(factory, worker, fixed_now or utcnow())
    totals = RunReport()
    busy = True
    while busy:
        now = fixed_now or utcnow()
        if config["job"] == "fire":
            handler = slow_handler(Path(config["calls"]), config["delay"])
            report = fire_due_timers(factory, now, worker, handler,
                                     batch_size=config["batch"], lease=lease)
        else:
            sender = slow_sender(Path(config["log"]), config["delay"])
            report = deliver_outbox(factory, now, sender, batch_size=config["batch"], lease=lease,
                                    worker=worker)
        busy = report.busy
        totals.add(report)
    if config.get("result"):
        Path(config["result"]).write_text(json.dumps({"fired": totals.fired, "sent": totals.sent,
                                                      "not_fired": totals.not_fired}))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
