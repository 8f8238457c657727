"""Ready means ready: the shared parsers and models are built once, safely under threads, and a
server says it is ready (``/readyz``) only when they are; ``/healthz`` is liveness."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cityline.api import create_app
from cityline.config import get_settings
from cityline.once import built_once

ROOT = Path(__file__).resolve().parents[1]

# 16 threads use the address parser (Chinese, traditional, Latin, Hangul) and triage for the
# first time at once, in a fresh process. Before the parser's tables were built under a lock,
# every thread built its own gazetteer (a minute on two cores), threads read jionlp's pinyin
# table half-built (KeyError), and sys.stdout was left pointing at a discarded buffer.
FIRST_USE = r"""
import json, sys, threading
from concurrent.futures import ThreadPoolExecutor
from cityline.geo import parse_address
from cityline.triage.service import default_triager

TEXTS = ["Jing'an District, Caojiadu Subdistrict", "静安区曹家渡街道万航渡路", "長寧區虹橋路", "민항구 홍차오진"]
start = threading.Barrier(16)

def first_use(i):
    start.wait()
    if i % 5 == 4:
        return ["triage", default_triager().classify("老人透析药吃完了", None).category.value]
    place = parse_address(TEXTS[i % 5])
    return [place.district, place.street]

answers, errors = [], []
with ThreadPoolExecutor(16) as pool:
    for future in [pool.submit(first_use, i) for i in range(16)]:
        try:
            answers.append(future.result())
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}")
sys.__stdout__.write(json.dumps({"answers": answers, "errors": errors,
                                 "stdout_intact": sys.stdout is sys.__stdout__}))
"""


def test_first_use_from_many_threads_at_once_never_fails():
    done = subprocess.run([sys.executable, "-c", FIRST_USE], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["errors"] == []
    assert result["stdout_intact"], "a thread left sys.stdout redirected"
    answers = [tuple(a) for a in result["answers"]]
    expected = [("静安区", "曹家渡街道"), ("静安区", "曹家渡街道"), ("长宁区", None), ("闵行区", "虹桥镇"),
                ("triage", "EPI.MEDICAL")]
    assert answers == [expected[i % 5] for i in range(16)]


def test_built_once_builds_once_for_concurrent_first_callers():
    calls = []
    gate = threading.Event()

    @built_once
    def table(name: str) -> dict:
        calls.append(name)
        gate.wait(5)
        return {"name": name}

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(table, "上海市") for _ in range(8)]
        time.sleep(0.2)
        gate.set()
        results = [f.result() for f in futures]
    assert calls == ["上海市"] and all(r is results[0] for r in results)
    assert table("上海市") is results[0] and table.is_built("上海市")
    table.cache_clear()
    assert not table.is_built("上海市")


def test_a_failed_build_is_not_remembered():
    attempts = []

    @built_once
    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("disk busy")
        return "built"

    with pytest.raises(OSError):
        flaky()
    assert flaky() == "built" and len(attempts) == 2


def test_readyz_answers_503_until_warm_then_200_and_healthz_is_always_200(sessions, vault):
    release = threading.Event()
    app = create_app(sessions, vault, warm_up=lambda: release.wait(30))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        waiting = client.get("/readyz")
        assert waiting.status_code == 503 and waiting.headers["content-type"].startswith("application/problem+json")
        assert waiting.headers["retry-after"] and "warming up" in waiting.json()["detail"]
        release.set()
        for _ in range(100):
            if client.get("/readyz").status_code == 200:
                break
            time.sleep(0.05)
        assert client.get("/readyz").json() == {"status": "ready"}


def test_a_failed_warm_up_stays_not_ready_and_says_why(sessions, vault):
    def broken() -> None:
        raise RuntimeError("division data missing")

    with TestClient(create_app(sessions, vault, warm_up=broken)) as client:
        for _ in range(100):
            answer = client.get("/readyz")
            if "failed" in answer.json().get("detail", ""):
                break
            time.sleep(0.05)
        assert answer.status_code == 503 and "RuntimeError" in answer.json()["detail"]
        assert client.get("/healthz").status_code == 200


def test_an_app_without_a_warm_up_is_ready_at_once(client):
    assert client.get("/readyz").json() == {"status": "ready"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"content-type": "application/json",
                                              **({"authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.mark.postgres
def test_a_restarted_server_takes_concurrent_orders_at_once_and_says_when_it_is_ready(tmp_path):
    """`cityline serve` on PostgreSQL, hit by 8 creates with foreign-script addresses the moment
    it answers: every one is 201 (before: 500s, 12–17 s); /readyz says 503, then 200."""
    from cityline.db import make_engine, make_sessionmaker
    from cityline.schema import upgrade
    from tests.conftest import make_token
    from tests.pg import create_database

    postgres_url = create_database(os.environ["CITYLINE_TEST_POSTGRES_URL"], "cityline_serve")
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    token = make_token(make_sessionmaker(engine), ["operator"], name="gateway")
    engine.dispose()
    port = _free_port()
    # The test run's data directory, so the shipped triage model is read from its cache, not trained.
    data_dir = get_settings().data_dir.resolve()
    env = {**os.environ, "CITYLINE_DATABASE_URL": postgres_url, "CITYLINE_DATA_DIR": str(data_dir),
           "CITYLINE_SECRET_KEY": "test-secret-not-for-production"}
    log = tmp_path / "server.log"  # a file, not a pipe nobody reads while the server runs
    server = subprocess.Popen([str(Path(sys.executable).with_name("cityline")), "serve", "--port", str(port),
                               "--no-worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=log.open("w"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert _call(f"{base}/healthz") == (200, {"status": "ok"})
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, log.read_text()[-2000:]
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        first_ready = _call(f"{base}/readyz")[0]
        body = {"text": "I live in Jing'an District, my neighbour is 80 and has no food", "caller_phone": "13800001234"}
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda i: _call(f"{base}/api/orders", {**body, "address": f"Caojiadu Subdistrict {i}"},
                                                    token), range(8)))
        assert [status for status, _ in answers] == [201] * 8, answers
        assert {order["district"] for _, order in answers} == {"静安区"}
        assert first_ready == 503  # it took orders while warming up, and said it was not ready
        deadline = time.monotonic() + 120
        while _call(f"{base}/readyz")[0] != 200:
            assert time.monotonic() < deadline, "never ready"
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(30)
