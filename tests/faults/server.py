"""A real `cityline serve` process and a load of callers recording orders over HTTP, for the
fault tests: the server is killed or its database stopped under them, and every order it
acknowledged (201) is then looked for in the database."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from cityline.config import get_settings
from cityline.db import make_engine, make_sessionmaker, read_transaction
from cityline.orders.models import Order
from cityline.schema import upgrade
from tests.conftest import make_token

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Answer:
    status: int  # 0: no answer (the connection failed or timed out)
    body: dict
    headers: dict[str, str]  # names in lower case
    seconds: float
    began: float = 0.0  # time.monotonic() when sent


def call(url: str, body: dict | None = None, token: str | None = None, key: str | None = None,
         timeout: float = 15) -> Answer:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if key:
        headers["idempotency-key"] = key
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                     headers=headers)
    began = time.monotonic()
    answer = _send(request, timeout, began)
    answer.began = began
    return answer


def _send(request: urllib.request.Request, timeout: float, began: float) -> Answer:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Answer(answer.status, json.loads(answer.read()), _lower(answer.headers), time.monotonic() - began)
    except urllib.error.HTTPError as error:
        raw = error.read()
        return Answer(error.code, json.loads(raw) if raw else {}, _lower(error.headers), time.monotonic() - began)
    except (OSError, urllib.error.URLError):  # refused, reset, timed out: no answer at all
        return Answer(0, {}, {}, time.monotonic() - began)


def _lower(headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def prepare(url: str) -> str:
    """The database at ``url`` at the current schema, and an operator's token on it."""
    upgrade(url)
    engine = make_engine(url)
    try:
        return make_token(make_sessionmaker(engine), ["operator"], name="gateway")
    finally:
        engine.dispose()


class Server:
    """``cityline serve`` on ``database_url`` (with its worker), its log in ``log``."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.database_url = database_url
        self.log = log
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        # The test run's data directory, so the shipped triage model is read from its cache.
        env = {**os.environ, "CITYLINE_DATABASE_URL": self.database_url,
               "CITYLINE_DATA_DIR": str(get_settings().data_dir.resolve()),
               "CITYLINE_SECRET_KEY": "test-secret-not-for-production"}
        env.pop("CITYLINE_DEBUG", None)
        self.process = subprocess.Popen([sys.executable, "-m", "cityline", "serve", "--port", str(self.port)],
                                        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                        stderr=self.log.open("a"), start_new_session=True)
        deadline = time.monotonic() + 60
        while call(f"{self.base}/healthz", timeout=2).status != 200:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while call(f"{self.base}/readyz", timeout=5).status != 200:
            assert time.monotonic() < deadline, "the server never said it was ready"
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no goodbye."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def order(key: str) -> dict:
    # The key in the text too, so an order stored twice (under two rows) would be found.
    return {"text": f"小区路灯不亮已经三天了 {key}", "address": "静安区曹家渡街道万航渡路", "caller_phone": "13800001234"}


@dataclass
class Load:
    """``clients`` threads recording orders with Idempotency-Keys until stopped; each key is
    tried once (``sent``) and remembered as acknowledged when the answer was 201 or 200."""

    base: str
    token: str
    clients: int = 6
    timeout: float = 15
    acknowledged: dict[str, str] = field(default_factory=dict)  # key → order number
    sent: list[str] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(self.clients)]
        for thread in threads:
            thread.start()
        self.threads = threads
        return threads

    def _client(self, i: int) -> None:
        n = 0
        while not self.stop.is_set():
            key = f"fault-{os.getpid()}-{i}-{n}-{time.monotonic_ns()}"
            n += 1
            with self.lock:
                self.sent.append(key)
            answer = call(f"{self.base}/api/orders", order(key), self.token, key, timeout=self.timeout)
            with self.lock:
                self.answers.append(answer)
                if answer.status in (200, 201):
                    self.acknowledged[key] = answer.body["number"]
            if answer.status not in (200, 201):
                time.sleep(0.05)  # the server is down or said so: do not spin

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(self.timeout + 5)

    def statuses(self) -> Counter:
        with self.lock:
            return Counter(a.status for a in self.answers)


def stored(database_url: str, keys: list[str]) -> dict[str, list[str]]:
    """For each key, the numbers of the orders whose text carries it (two: stored twice)."""
    engine = make_engine(database_url)
    try:
        with read_transaction(make_sessionmaker(engine)) as session:
            rows = session.execute(select(Order.number, Order.text)).all()
            total = session.scalar(select(func.count()).select_from(Order))
    finally:
        engine.dispose()
    assert total == len(rows)
    found: dict[str, list[str]] = {key: [] for key in keys}
    for number, text in rows:
        key = text.rsplit(" ", 1)[-1]
        found.setdefault(key, []).append(number)
    return found
