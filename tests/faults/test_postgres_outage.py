"""PostgreSQL stopped (as by a crash) and started again while callers record orders through a
real `cityline serve`: meanwhile every request is answered, quickly, 503 with Retry-After (never
500, never a hang) and /readyz says not ready; once it is back the server takes orders again by
itself, and every order acknowledged before, during or after is stored exactly once.

The test has a PostgreSQL server of its own, with PostgreSQL's durable defaults (fsync and
synchronous_commit on), so the run's shared server is never stopped."""

from __future__ import annotations

import time

import pytest

from tests.faults.server import Load, Server, call, prepare, stored
from tests.pg import ThrowawayPostgres, create_database


@pytest.fixture
def own_postgres():
    server = ThrowawayPostgres(durable=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_down_and_back_under_load_is_503_then_recovers_and_keeps_every_acknowledged_order(
        own_postgres, tmp_path):
    url = create_database(own_postgres.url, "cityline_outage")
    token = prepare(url)
    server = Server(url, tmp_path / "server.log")
    server.start()
    try:
        server.wait_ready()
        load = Load(server.base, token, clients=6, timeout=10)
        load.start()
        wait_for(lambda: len(load.acknowledged) >= 12, 20, "no orders before the outage")

        down_at = time.monotonic()
        own_postgres.halt("immediate")  # a crash: no checkpoint, committed work is in the WAL
        wait_for(lambda: load.statuses()[503] >= 10, 15, f"no 503 while down: {load.statuses()}")
        ready = call(f"{server.base}/readyz", timeout=10)
        assert ready.status == 503 and ready.headers["retry-after"] == "5", ready
        assert "database" in ready.body["detail"]
        own_postgres.resume()  # crash recovery replays the WAL: seconds
        up_at = time.monotonic()
        back = len(load.acknowledged)
        wait_for(lambda: len(load.acknowledged) >= back + 12, 20, "orders were not taken again after the restart")
        load.finish()
        assert call(f"{server.base}/readyz").status == 200
    finally:
        server.stop()
    log = server.log.read_text()

    assert set(load.statuses()) <= {200, 201, 503}, load.statuses()  # never 500, never no answer
    during = [a for a in load.answers if down_at <= a.began <= up_at]  # down, or starting again
    assert len(during) >= 10 and {a.status for a in during} <= {503, 201}, load.statuses()
    assert all(a.headers.get("retry-after") == "5" and a.headers["content-type"] == "application/problem+json"
               for a in during if a.status == 503)
    assert max(a.seconds for a in during) < 6, sorted(a.seconds for a in during)[-5:]  # no hang
    assert "Traceback" not in log and "13800001234" not in log, log[-3000:]
    found = stored(url, load.sent)
    assert {key: found[key] for key in load.acknowledged} == {
        key: [number] for key, number in load.acknowledged.items()}
    assert all(len(numbers) <= 1 for numbers in found.values())
