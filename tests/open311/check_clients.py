"""Open311 as its clients see it: a real ``cityline serve`` on a free port with a fresh data
directory, an operator's API token on its database, driven by the PyPI clients
``civicbot`` (full GeoReport v2, POST included) and ``georeport`` (read-only, JSON and XML).

    .venv/bin/python -m tests.open311.check_clients     # prints what it checked

``tests/open311/test_clients.py`` runs it in the suite.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PHONE = "13922223333"  # fake


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "CITYLINE_DATA_DIR": str(data_dir), "CITYLINE_SECRET_KEY": "open311-check-not-for-production"}
    env.pop("CITYLINE_DATABASE_URL", None)  # the embedded database of the fresh data directory
    return env


def operator_token(data_dir: Path) -> str:
    """The fresh data directory's database at the current schema, and an operator's API token on
    it (as ``cityline tokens create NAME --role operator`` makes one, without starting a process)."""
    from cityline.accounts.service import create_token
    from cityline.db import make_engine, make_sessionmaker, transaction
    from cityline.schema import upgrade

    url = f"sqlite:///{(data_dir / 'cityline.db').resolve()}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            token, _row = create_token(session, "open311-check", ["operator"], unit=None, actor="open311-check")
        return token
    finally:
        engine.dispose()


def serve(data_dir: Path, port: int) -> subprocess.Popen:
    """``cityline serve``, once it says it is ready (its parsers and triage model built)."""
    process = subprocess.Popen([sys.executable, "-m", "cityline", "serve", "--port", str(port)], cwd=ROOT,
                               env=_env(data_dir), stdout=subprocess.DEVNULL,
                               stderr=(data_dir / "serve.log").open("a"), start_new_session=True)
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                return process
        except OSError:  # not listening yet, or 503 while warming up
            assert process.poll() is None, (data_dir / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "cityline serve did not start"
            time.sleep(0.1)


def drive(base: str, token: str) -> list[str]:
    """Every check against the server at ``base``; returns what was checked, raises at the first failure."""
    import requests
    from civicbot.http import HttpError, HttpTransport, RateLimiter
    from civicbot.open311 import Open311Client
    from civicbot.registry import Endpoint
    from georeport import GeoReport

    from cityline.taxonomy import load_taxonomy

    root = f"{base}/open311/v2"
    checked = []
    georeport = GeoReport(root_address=root)
    services = georeport.get_service_list()
    assert {s["service_code"] for s in services} == set(load_taxonomy().codes("category")), services
    checked.append(f"georeport: services.json lists {len(services)} services, one per category")
    as_xml = GeoReport(root_address=root, output_format="xml").get_service_list()
    assert [s["service_code"] for s in as_xml] == [s["service_code"] for s in services]
    checked.append("georeport: services.xml parses to the same services")

    # The default limiter waits 0.5 s between calls (politeness towards a city's server): not here.
    civicbot = Open311Client(Endpoint("cityline", "cityline", root, write=True),
                             transport=HttpTransport(timeout=60, rate_limiter=RateLimiter(min_interval=0)))
    made = civicbot.create_request(
        "EPI.MEDICAL", dry_run=False, confirm="SEND", api_key=token, validate_remote=True,
        address_string="静安区曹家渡街道万航渡路123弄", description=f"家中老人降压药快用完了，小区封控出不去，电话{PHONE}",
        phone=PHONE, first_name="三", last_name="张", attributes={"special_group": ["elderly"]})
    number = made.response[0]["service_request_id"]
    checked.append(f"civicbot: created request {number} (services and definition checked first)")

    listed = civicbot.list_requests(status="open")
    assert [r["service_request_id"] for r in listed] == [number], listed
    read = civicbot.get_request(number)
    assert read["service_code"] == "EPI.MEDICAL" and read["status"] == "open", read
    by_id = georeport.get_service_requests(service_request_id=number)
    assert [r["service_request_id"] for r in by_id] == [number], by_id
    assert georeport.get_service_request(number)["service_request_id"] == number
    shown = json.dumps([listed, read, by_id], ensure_ascii=False)
    assert PHONE not in shown and "139****3333" in shown and "张三" not in shown, shown
    checked.append("civicbot and georeport: listed, read by id, filtered by id; no phone, no name")

    try:
        civicbot.create_request("GEN.OTHER", dry_run=False, confirm="SEND", api_key="cl_not-a-token",
                                address_string="静安区", description="x")
        raise AssertionError("a bad api_key was accepted")
    except HttpError as error:
        assert error.status == 403 and json.loads(error.body)[0]["code"] == 403, error.body
    checked.append("civicbot: a bad api_key → 403 with an Open311 error list")

    try:
        georeport.get_service_request("20000101-99999")
        raise AssertionError("an unknown id was found")
    except requests.HTTPError as error:
        assert error.response.status_code == 404 and error.response.json()[0]["code"] == 404
    checked.append("georeport: an unknown id → 404")
    return checked


def check(work: Path) -> list[str]:
    data_dir = work / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    token = operator_token(data_dir)
    port = free_port()
    started = time.monotonic()
    process = serve(data_dir, port)
    try:
        ready = time.monotonic() - started
        checked = drive(f"http://127.0.0.1:{port}", token)
        return [f"cityline serve ready in {ready:.1f} s", *checked]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as work:
        for line in check(Path(work)):
            print("ok", line)
