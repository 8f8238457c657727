"""Fixtures shared by every domain's tests: databases (SQLite and PostgreSQL), app, client."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from cityline.accounts.rules import ROLES
from cityline.accounts.service import create_token
from cityline.api import create_app
from cityline.db import make_engine, make_sessionmaker, transaction
from cityline.privacy import Vault
from cityline.schema import create_all, metadata
from tests.pg import ThrowawayPostgres, create_database

_server: ThrowawayPostgres | None = None
# Written here, not taken from cityline.privacy: the oracle must not share the code it checks.
FULL_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
FULL_ID = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
# A caller's number as a test writes it: a mobile (maybe +86, maybe 3-4-4), an ID number (18 or
# the old 15 digits), a landline with its area code. Its digits are what must never come out.
PERSONAL = re.compile(r"(?<![\dA-Za-z])(?:(?:\+?86[\s-]?)?(?P<mobile>1[3-9]\d[\s-]?\d{4}[\s-]?\d{4})"
                      r"|(?P<id>\d{17}[\dXx]|\d{15})|(?P<landline>0\d{2,3}-?\d{7,8}))(?!\d)")
# In what comes out: every run of digits (separators inside allowed), to be compared with what went in.
DIGIT_RUN = re.compile(r"\d(?:[\s-]?\d)*[Xx]?")


class PersonalNumbers:
    """Every phone and ID number the tests of this run put in (order texts and anything else
    written to the database, callers' phones, request URLs and bodies), and every run of digits
    that came out (log records, API answers, console pages, exports). At the end of the run no
    number that went in may have come out in full, except in the audited reveal's answer."""

    def __init__(self) -> None:
        self.put_in: dict[str, str] = {}  # digits → where the test put them in
        self.came_out: dict[str, str] = {}  # run of digits (length 7+) → where it came out
        self.in_logs: list[str] = []  # records with a full mobile or ID number, whatever went in

    def add_input(self, text: str, where: str) -> None:
        for match in PERSONAL.finditer(text):
            digits = re.sub(r"[^\dX]", "", match.group(match.lastgroup).upper())
            self.put_in.setdefault(digits, where)

    def add_phone(self, digits: str) -> None:
        if len(digits) >= 7:
            self.put_in.setdefault(digits, f"caller phone in {_current_test()}")

    def add_output(self, text: str, where: str) -> None:
        for match in DIGIT_RUN.finditer(text):
            run = re.sub(r"[^\dX]", "", match.group().upper())
            if len(run) >= 7:
                self.came_out.setdefault(run, where)
                for prefix in ("0086", "86"):  # +86 13912345678 is 13912345678
                    if run.startswith(prefix) and len(run) - len(prefix) >= 11:
                        self.came_out.setdefault(run[len(prefix):], where)

    def seen(self) -> dict:
        """What this process saw, for the run's controller when the tests run in several processes."""
        return {"put_in": self.put_in, "came_out": self.came_out, "in_logs": self.in_logs}

    def add_seen(self, seen: dict) -> None:
        for digits, where in seen["put_in"].items():
            self.put_in.setdefault(digits, where)
        for digits, where in seen["came_out"].items():
            self.came_out.setdefault(digits, where)
        self.in_logs += seen["in_logs"]

    def leaks(self) -> list[str]:
        found = [f"{_shown(n)} (put in: {self.put_in[n]}) came out: {self.came_out[n]}"
                 for n in sorted(self.put_in.keys() & self.came_out.keys())]
        return self.in_logs + found


def _current_test() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "(no test)").rsplit(" ", 1)[0]


def _shown(digits: str) -> str:
    return f"{digits[:3]}…{digits[-4:]} ({len(digits)} digits)"


numbers = PersonalNumbers()


class LogWatch(logging.Handler):
    """Sees every log record of the whole run, formatted as a handler would write it (message,
    exception text and stack included): no full mobile or ID number, and no number a test put in."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        shown = self.format(record)
        if FULL_PHONE.search(shown) or FULL_ID.search(shown):
            numbers.in_logs.append(f"log of {_current_test()}: {shown[:300]}")
        numbers.add_output(shown, f"log record {record.name} in {_current_test()}")


_watch = LogWatch()


def _watch_inputs_and_answers() -> None:
    """Every statement that writes, every caller's phone the vault protects, every request and
    answer of a TestClient (the API, the console, exports) is seen by ``numbers``."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from cityline.privacy import Vault, normalise_phone

    @event.listens_for(Engine, "before_cursor_execute")
    def _written(_conn, _cursor, statement, parameters, _context, _executemany) -> None:
        if statement.lstrip()[:6].upper() not in ("INSERT", "UPDATE"):
            return
        for row in parameters if isinstance(parameters, list) else [parameters]:  # executemany: a list
            values = row.values() if isinstance(row, dict) else row if isinstance(row, tuple | list) else [row]
            for value in values:
                if isinstance(value, str):
                    numbers.add_input(value, f"stored in {_current_test()}")

    protect = Vault.protect_phone

    def protect_phone(self, raw: str):
        numbers.add_phone(normalise_phone(raw))
        return protect(self, raw)

    Vault.protect_phone = protect_phone  # type: ignore[method-assign]
    request = TestClient.request

    def watched(self, method, url, *args, **kwargs):
        answer = request(self, method, url, *args, **kwargs)
        sent = answer.request
        where = f"{sent.method} {sent.url.path} in {_current_test()}"
        numbers.add_input(str(sent.url), where)
        numbers.add_input(sent.content.decode("utf-8", "replace"), where)
        kind = answer.headers.get("content-type", "")
        if not sent.url.path.endswith("/reveal") and kind.startswith(("application/json", "application/problem",
                                                                        "application/xml", "text/")):
            numbers.add_output(answer.text, f"answer to {where}")
            numbers.add_output(answer.headers.get("location", ""), f"redirect of {where}")
        return answer

    TestClient.request = watched  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    global _server
    logging.getLogger().addHandler(_watch)
    logging.getLogger().setLevel(logging.DEBUG)
    _watch_inputs_and_answers()
    if not os.environ.get("CITYLINE_TEST_POSTGRES_URL"):
        _server = ThrowawayPostgres()
        os.environ["CITYLINE_TEST_POSTGRES_URL"] = _server.start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """No phone or ID number may reach a log, an API answer, a console page or an export in full."""
    to_controller = getattr(session.config, "workeroutput", None)
    if to_controller is not None:  # a worker of `pytest -n`: the controller judges the whole run
        to_controller["personal_numbers"] = numbers.seen()
        return
    leaks = numbers.leaks()
    if leaks:
        print(f"\n{len(leaks)} full phone or ID numbers came out in this run:\n  " + "\n  ".join(leaks[:30]))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """A worker of `pytest -n` finished: what it saw joins the run's leak watch."""
    seen = getattr(node, "workeroutput", {}).get("personal_numbers")
    if seen:
        numbers.add_seen(seen)


# Files whose tests share a session fixture too costly to build twice: with `pytest -n` each such
# group runs in one worker (the one Spark session; the demo, built once). A file missing here
# still passes; it only starts its own copy in the other worker.
SHARING_FILES = {"tests/analytics/test_spark.py": "spark", "tests/epidemic/test_spark.py": "spark",
                 "tests/test_demo.py": "demo", "tests/web/test_demo_browser.py": "demo"}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`pytest -n N` (scripts/test) hands out whole files, so a module's fixtures (a served site,
    a browser, a trained model) are built once, and the files of SHARING_FILES together."""
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            return SHARING_FILES.get(file, file)

    return ByFile(config, log)


def pytest_terminal_summary(terminalreporter) -> None:
    terminalreporter.write_line(f"leak watch: {len(numbers.put_in)} phone and ID numbers put in, "
                                f"{len(numbers.leaks())} came out in full")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _server:
        _server.stop()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A database of our own on the test server, with every table created once."""
    url = create_database(os.environ["CITYLINE_TEST_POSTGRES_URL"], "cityline_core")
    engine = make_engine(url)
    create_all(engine)
    engine.dispose()
    return url


_engines: dict[str, object] = {}


def _clean_postgres(url: str) -> sessionmaker[Session]:
    engine = _engines.get(url) or _engines.setdefault(url, make_engine(url))
    tables = ", ".join(f'"{t.name}"' for t in metadata().sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return make_sessionmaker(engine)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sessions(request: pytest.FixtureRequest, tmp_path) -> Iterator[sessionmaker[Session]]:
    """An empty database with every table, on SQLite and then on PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
        create_all(engine)
        yield make_sessionmaker(engine)
        engine.dispose()
    else:
        yield _clean_postgres(request.getfixturevalue("postgres_url"))


@pytest.fixture
def vault() -> Vault:
    return Vault("test-secret-not-for-production")


def make_token(sessions, roles, unit: str | None = None, name: str = "tester") -> str:
    with transaction(sessions) as session:
        token, _row = create_token(session, name, list(roles), unit=unit, actor="test")
    return token


@pytest.fixture
def client(sessions, vault) -> Iterator[TestClient]:
    """Real HTTP through the ASGI app, on each database, as a city-wide token holding every role."""
    token = make_token(sessions, ROLES)
    with TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory) -> tuple[Path, str]:
    """The demo built once per run as ``scripts/run`` builds it (smaller: scale 0.002) — its folder
    and what the build printed. Tests that serve or change it work on a copy (``copy_demo``)."""
    folder = tmp_path_factory.mktemp("demo-built")
    done = run_cityline(folder, "demo", "--build-only", "--scale", "0.002", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder, done.stdout


def copy_demo(built: tuple[Path, str], folder: Path) -> Path:
    """A copy of the built demo's data directory in ``folder`` (returned), for one test to change."""
    shutil.copytree(built[0] / "data", folder / "data")
    return folder


def run_cityline(folder: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``cityline ARGS`` as a user runs it, in ``folder`` on the embedded database of ``folder/data``."""
    env = {**os.environ, "CITYLINE_DATA_DIR": str(folder / "data")}
    env.pop("CITYLINE_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "cityline", *args], env=env, cwd=folder,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def spark():
    """The one Spark session of a test run (local[2], small data: few shuffle partitions, no
    code generation or adaptive re-planning, whose start-up costs outweigh them here), for the
    tests that hold the spark engine to DuckDB. Skipped only where no Java runtime is installed."""
    import shutil

    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        pytest.skip("no Java runtime (java on PATH or JAVA_HOME): Spark cannot start here")
    from cityline.spark import spark_session

    return spark_session("local[2]", {"spark.sql.shuffle.partitions": "2", "spark.sql.codegen.wholeStage": "false",
                                      "spark.sql.adaptive.enabled": "false"})


@pytest.fixture(scope="session")
def s3():
    """An S3 server (moto) on a free port with the bucket ``hotline``: its file system as
    pyarrow speaks to it, and ``uri(scheme, path)``, a URI of ``path`` there that carries the
    endpoint and the (fake) keys for pyarrow."""
    import pyarrow.fs as pafs
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    fs = pafs.S3FileSystem(access_key="fake", secret_key="fake", endpoint_override=f"{host}:{port}",
                           scheme="http", region="us-east-1", allow_bucket_creation=True)
    fs.create_dir("hotline")

    def uri(scheme: str, path: str) -> str:
        return f"{scheme}://fake:fake@{path}?endpoint_override={host}:{port}&scheme=http&region=us-east-1"

    yield fs, uri
    server.stop()
