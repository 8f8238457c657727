"""Logs carry no caller's number and no order text: every record as made by ``cityline.logs``,
the access line of each request, a request that fails, the real server and a failing command."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from uvicorn.logging import AccessFormatter, DefaultFormatter

from cityline import logs
from cityline.accounts.rules import ROLES
from cityline.api import create_app
from cityline.schema import upgrade
from tests.conftest import make_token
from tests.pg import _free_port, create_database

PHONE, ID = "13912345678", "110101199003071234"
ORDER = {"text": f"张三来电，手机{PHONE}，身份证{ID}，楼下噪音扰民", "caller_phone": "13812345678",
         "caller_name": f"张三{PHONE}", "address": f"静安区某路1号 联系{PHONE}", "kind": "complaint",
         "category": "GEN.HOUSING", "urgency": "normal"}
FULL = re.compile(rf"{PHONE}|{ID}|13812345678")


def formatted(records: list[logging.LogRecord]) -> str:
    """The records as any handler would write them, tracebacks included."""
    formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    return "\n".join(formatter.format(r) for r in records)


@pytest.fixture
def debug_off():
    logs.install()
    before = logs.debug()
    logs.set_debug(False)
    yield
    logs.set_debug(before)


def test_uvicorns_access_formatter_still_gets_its_arguments(debug_off, capsys):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False))
    logger = logging.getLogger("test.uvicorn.access")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/api/orders/{PHONE}?q={ID}", "1.1", 404)
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == '127.0.0.1:5000 - "GET /api/orders/139****5678?q=110101********1234 HTTP/1.1" 404 Not Found\n'
    assert "Logging error" not in capsys.readouterr().err


def test_uvicorns_coloured_formatter_survives_a_message_masked_whole(debug_off, capsys):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s", use_colors=True))
    logger = logging.getLogger("test.uvicorn.error")
    logger.addHandler(handler)
    logger.propagate = False
    try:  # an int argument holding a phone number: the message is masked whole, its arguments dropped
        logger.info("caller %d", int(PHONE), extra={"color_message": "caller \x1b[36m%d\x1b[0m"})
    finally:
        logger.removeHandler(handler)
    # (``extra`` is set after the record factory: uvicorn's coloured format comes back and shows
    # unformatted, which neither fails nor shows the number.)
    assert stream.getvalue().startswith("\x1b[32mINFO\x1b[0m:     caller ") and PHONE not in stream.getvalue()
    assert "Logging error" not in capsys.readouterr().err


def test_masking_never_breaks_a_log_call(debug_off, caplog, capsys):
    class Awkward:
        def __str__(self) -> str:
            raise RuntimeError(f"cannot show {PHONE}")

    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("test.awkward")
    log.info("object: %s", Awkward())
    log.info("broken format %d %d", PHONE)
    log.info("an int: %d", int(PHONE))
    log.info("pieces: %s%s", PHONE[:5], PHONE[5:])
    log.info({"caller": PHONE})
    log.info("a URL %r", type("URL", (), {"__repr__": lambda self: f"URL('/orders/{PHONE}')"})())
    shown = formatted(caplog.records)
    assert not FULL.search(shown), shown
    assert "withheld" in caplog.records[0].getMessage()
    assert "139****5678" in caplog.records[1].getMessage()
    assert [r.getMessage() for r in caplog.records[2:5]] == ["an int: 139****5678", "pieces: 139****5678",
                                                             "{'caller': '139****5678'}"]
    assert "Logging error" not in capsys.readouterr().err


def failed_insert() -> Exception:
    """A real database error of a failed insert, whose message carries the row's values."""
    engine = create_engine("sqlite://")  # parameters shown, as on any engine made without hide_parameters
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE orders (number TEXT UNIQUE, text TEXT)"))
        conn.execute(text("INSERT INTO orders VALUES ('1', 'x')"))
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO orders VALUES (:number, :text)"), {"number": "1", "text": ORDER["text"]})
    except Exception as error:  # noqa: BLE001
        assert PHONE in str(error)  # what used to reach the log
        return error
    raise AssertionError("the insert did not fail")


def test_an_exception_is_logged_as_its_type_and_place_never_its_message(debug_off, caplog):
    caplog.set_level(logging.DEBUG)
    error = failed_insert()
    log = logging.getLogger("test.errors")
    try:
        raise error
    except Exception:
        log.exception("import of %s failed", "orders.csv")
    log.error("failed: %s", error)
    log.warning("no traceback", exc_info=True)  # outside an except: nothing to describe
    shown = formatted(caplog.records)
    assert not FULL.search(shown) and "噪音" not in shown and "Traceback" not in shown, shown
    first = caplog.records[0].getMessage()
    assert first.startswith("import of orders.csv failed — sqlalchemy.exc.IntegrityError (sqlite3.IntegrityError")
    assert "at tests/test_logs.py:" in first and "in test_an_exception_is_logged" in first
    assert caplog.records[1].getMessage().startswith("failed: sqlalchemy.exc.IntegrityError")


def test_with_debug_on_the_traceback_is_logged_masked(debug_off, caplog):
    caplog.set_level(logging.DEBUG)
    logs.set_debug(True)
    try:
        raise failed_insert()
    except Exception:
        logging.getLogger("test.errors").exception("import failed")
    shown = formatted(caplog.records)
    assert "Traceback (most recent call last)" in shown and "139****5678" in shown
    assert not FULL.search(shown), shown


def test_one_access_line_per_request_with_the_path_masked(client, caplog):
    caplog.set_level(logging.DEBUG)
    client.get(f"/api/orders/{PHONE}")
    client.get("/api/orders", params={"q": PHONE})
    lines = [r.getMessage() for r in caplog.records if r.name == "cityline.access"]
    assert len(lines) == 2
    assert re.fullmatch(r"GET /api/orders/139\*\*\*\*5678 404 \d+\.\d ms", lines[0]), lines
    assert re.fullmatch(r"GET /api/orders 200 \d+\.\d ms", lines[1]), lines  # no query string
    assert not FULL.search(formatted(caplog.records))


def test_a_failed_insert_is_logged_without_the_order(sessions, vault, caplog, monkeypatch, debug_off):
    """The order number sequence breaks: the second insert fails in the database (500)."""
    import cityline.intake.service

    monkeypatch.setattr(cityline.intake.service, "allocate_numbers", lambda session, day, count=1: 1)
    token = make_token(sessions, ROLES)
    with TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"},
                    raise_server_exceptions=False) as client:
        assert client.post("/api/orders", json={**ORDER, "text": "路灯不亮"}).status_code == 201
        caplog.set_level(logging.DEBUG)
        failed = client.post("/api/orders", json=ORDER)
    assert failed.status_code == 500
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.name for r in errors] == ["cityline.access"]
    assert re.match(r"POST /api/orders 500 \d+\.\d ms — sqlalchemy\.exc\.IntegrityError \((sqlite3|psycopg)\.",
                    errors[0].getMessage()), errors[0].getMessage()
    assert "at cityline/" in errors[0].getMessage()
    shown = formatted(caplog.records)
    assert not FULL.search(shown) and "噪音" not in shown and "张三" not in shown, shown


# -- the real server and the real command ---------------------------------------------------

def run_cityline(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cityline", *args], env=env, capture_output=True, text=True,
                          timeout=180)


@pytest.fixture
def process_env(tmp_path):
    env = {**os.environ, "CITYLINE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    env.pop("CITYLINE_DATABASE_URL", None)
    env.pop("CITYLINE_DEBUG", None)
    return env


def test_the_server_writes_one_masked_line_per_request(process_env, tmp_path):
    created = run_cityline(process_env, "tokens", "create", "leak-test", "--role", "admin", "--role", "operator")
    token = re.search(r"(cl_\S+)", created.stdout).group(1)
    port = _free_port()
    output = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "cityline", "serve", "--port", str(port), "--no-worker"],
                              env=process_env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def call(method: str, path: str, body: dict | str | None = None) -> int:
        data = (body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)).encode() if body else None
        request = urllib.request.Request(base + path, data=data, method=method, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status
        except urllib.error.HTTPError as refused:
            return refused.code

    try:
        for _ in range(300):
            try:
                if call("GET", "/healthz") == 200:
                    break
            except OSError:
                time.sleep(0.1)
        # (no order is created: the first one would train triage in this new data directory)
        statuses = [call("GET", f"/api/orders/{PHONE}"),
                    # invalid JSON in the body (a lone surrogate): 422, its input never logged
                    call("POST", "/api/orders", json.dumps(ORDER, ensure_ascii=False).replace("楼", "\\ud800")),
                    call("GET", f"/api/orders?q={ID}")]
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=30)
        output.close()
    assert statuses == [404, 422, 200]
    log = (tmp_path / "server.log").read_text()
    assert "Logging error" not in log and "Traceback" not in log, log
    assert not FULL.search(log), log
    access = [line for line in log.splitlines() if " cityline.access: " in line]
    assert len(access) == 4, log  # the readiness check and the three requests
    assert [line.split(" cityline.access: ")[1].rsplit(" ", 2)[0] for line in access[1:]] == [
        "GET /api/orders/139****5678 404", "POST /api/orders 422", "GET /api/orders 200"]


@pytest.mark.postgres
def test_a_failing_insert_prints_one_line_without_the_data(process_env, tmp_path):
    """The attack: a command whose insert fails in PostgreSQL used to print the traceback with
    the SQL parameters: the order's text, phone and ID number. Here check constraints refuse
    texts about noise and tokens named after a person, and PostgreSQL's detail quotes the
    whole refused row."""
    url = create_database(os.environ["CITYLINE_TEST_POSTGRES_URL"], "cityline_failing_import")
    env = {**process_env, "CITYLINE_DATABASE_URL": url}
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE orders ADD CONSTRAINT no_noise CHECK (text NOT LIKE '%噪音%')"))
        conn.execute(text("ALTER TABLE api_tokens ADD CONSTRAINT no_person CHECK (name NOT LIKE '张三%')"))
    engine.dispose()

    # The import names the rows (one the database refused, one too long for it) and goes on.
    row = {"external_id": "X-1", "received_at": "2020-01-28T10:00:00", "text": ORDER["text"],
           "caller_phone": "13812345678", "address": ORDER["address"]}
    rows = [row, {**row, "external_id": "X-2", "district": "区" * 100}]
    (tmp_path / "orders.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                           encoding="utf-8")
    imported = run_cityline(env, "orders", "import", str(tmp_path / "orders.jsonl"), "--no-triage")
    assert imported.returncode == 1 and imported.stderr.strip() == "", imported.stderr  # (the progress bar)
    assert imported.stdout.splitlines()[1:] == [
        '  row 1: the database refused the row (new row for relation "orders" violates check constraint "no_noise")',
        "  row 2: district longer than 64 characters"]

    # A command that does not expect the failure prints one line.
    create = ("tokens", "create", ORDER["caller_name"], "--role", "admin")
    failed = run_cityline(env, *create)
    assert failed.returncode == 1
    assert failed.stdout == ""
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1, failed.stderr
    assert lines[0].startswith("error: the command failed: sqlalchemy.exc.IntegrityError "
                               "(psycopg.errors.CheckViolation 23514) at cityline/"), lines[0]
    assert not FULL.search(failed.stderr) and "张三" not in failed.stderr

    shown = run_cityline(env, "--debug", *create)
    assert shown.returncode == 1
    assert "Traceback (most recent call last)" in shown.stderr and "CheckViolation" in shown.stderr
    assert "SQL parameters hidden" in shown.stderr
    assert not FULL.search(shown.stderr), shown.stderr
