"""Acknowledged means stored: `cityline serve` killed with SIGKILL while callers record orders.
After a restart on the same database every order answered 201 is there exactly once, and
sending again every key that got no answer never makes a second copy."""

from __future__ import annotations

import os
import time

import pytest

from tests.faults.server import Load, Server, call, order, prepare, stored
from tests.pg import create_database


def database(kind: str, tmp_path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'kill.db'}"
    return create_database(os.environ["CITYLINE_TEST_POSTGRES_URL"], "cityline_kill")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_server_killed_under_load_keeps_every_acknowledged_order_once(kind, tmp_path):
    url = database(kind, tmp_path)
    token = prepare(url)
    server = Server(url, tmp_path / "server.log")
    server.start()
    try:
        server.wait_ready()
        load = Load(server.base, token, clients=6, timeout=10)
        load.start()
        deadline = time.monotonic() + 20
        while len(load.acknowledged) < 15:  # well under way: orders committing as it dies
            assert time.monotonic() < deadline, (load.statuses(), server.log.read_text()[-3000:])
            time.sleep(0.05)
        server.kill()
        load.finish()
        acknowledged = dict(load.acknowledged)
        found = stored(url, load.sent)
        assert {key: found[key] for key in acknowledged} == {key: [number] for key, number in acknowledged.items()}
        assert all(len(numbers) <= 1 for numbers in found.values())  # nothing stored twice

        # The callers that got no answer send again with the same key: their order is recorded
        # once — the first copy if the killed server had committed it (200), else a new one (201).
        server.start()
        unanswered = [key for key in load.sent if key not in acknowledged]
        assert unanswered, "the kill came between requests: nothing was in flight"
        retried = {key: call(f"{server.base}/api/orders", order(key), token, key) for key in unanswered}
        assert {answer.status for answer in retried.values()} <= {200, 201}, retried
        # A retry of an acknowledged one answers the same order.
        key, number = next(iter(acknowledged.items()))
        again = call(f"{server.base}/api/orders", order(key), token, key)
        assert (again.status, again.body["number"]) == (200, number)
    finally:
        server.stop()
    found = stored(url, load.sent)
    assert all(len(found[key]) == 1 for key in load.sent), {k: v for k, v in found.items() if len(v) != 1}
    for key, answer in retried.items():
        assert found[key] == [answer.body["number"]]
        if found[key] and answer.status == 200:
            assert key not in acknowledged  # stored by the killed server, never acknowledged
