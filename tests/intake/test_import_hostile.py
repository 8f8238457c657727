"""``orders import`` always finishes: every problem a named row, one bad row never takes good
rows with it, and an import that was killed or failed finishes when run again — on SQLite
and PostgreSQL, with real triggers, real processes and real concurrent imports."""

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from cityline.db import make_engine, make_sessionmaker, read_transaction
from cityline.intake.importer import ImportStopped, import_file, import_rows
from cityline.orders.models import Order, OrderEvent
from cityline.schema import create_all, upgrade
from tests.factories import add_units
from tests.intake.test_import import GOOD, count
from tests.pg import create_database

MARKER = "TRIGGER-REFUSES-THIS"


def answered(first: int, last: int, prefix: str = "K") -> list[dict]:
    """Orders answered at intake, spread over the days of February 2020 (closed: no timers)."""
    return [{"external_id": f"{prefix}-{i}", "received_at": f"2020-02-{1 + i % 28:02d}T08:00:00",
             "closed_at": f"2020-02-{1 + i % 28:02d}T08:05:00", "text": f"第{i}位市民问口罩在哪里预约",
             "kind": "consult", "category": "EPI.MASK", "urgency": "normal", "district": "静安区",
             "street": "曹家渡街道"}
            for i in range(first, last)]


def write_csv(path, rows, encoding="utf-8"):
    columns = list(dict.fromkeys(name for row in rows for name in row))
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def stored(sessions, model=Order) -> int:
    """How many rows ``model`` has, read without waiting for a writer (SQLite: no lock taken)."""
    with read_transaction(sessions) as session:
        return session.scalar(select(func.count()).select_from(model))


def stored_once(sessions, expected: set[str]) -> None:
    """Each external_id of ``expected`` is one order with its two events, and nothing else is stored."""
    with sessions() as session:
        ids = session.scalars(select(Order.external_id)).all()
        events = session.scalar(select(func.count()).select_from(OrderEvent))
    assert len(ids) == len(expected) and set(ids) == expected
    assert events == 2 * len(expected)  # received, answer


def test_too_long_values_nul_characters_and_impossible_times_are_named_rows(sessions, vault, tmp_path):
    add_units(sessions)
    bad = [
        {**GOOD[2], "external_id": "L-1", "text": "噪" * 20001},
        {**GOOD[2], "external_id": "L-2", "district": "区" * 65},
        {**GOOD[2], "external_id": "L-3" + "9" * 126},
        {**GOOD[2], "external_id": "L-4", "special_groups": "elderly;" + "x" * 33},
        {**GOOD[2], "external_id": "L-5", "text": "楼上装修\x00噪声很大"},
        {**GOOD[2], "external_id": "L-6", "received_at": "0001-01-01T00:00:00"},
        {**GOOD[2], "external_id": "L-7", "address": "静安区" * 200, "unit": "单" * 201},
    ]
    path = write_csv(tmp_path / "orders.csv", GOOD[:1] + bad + GOOD[1:])
    report = import_file(sessions, path, vault=vault)
    assert report.imported == 3 and count(sessions) == 3
    assert {b.row: b.message for b in report.bad} == {
        3: "text longer than 20000 characters",
        4: "district longer than 64 characters",
        5: "external_id longer than 128 characters",
        6: "special_groups has a group longer than 32 characters",
        7: "text contains a NUL character (\\x00), which cityline does not accept",
        8: "received_at must fall between 1900-01-01 and 2100-12-31",
        9: "address longer than 500 characters; unit longer than 200 characters",
    }

    jsonl = tmp_path / "orders.jsonl"  # JSON's "\u0000" is a NUL too, in a value or a list
    lines = [{**GOOD[2], "external_id": "J-1", "language": "zh\u0000"},
             {**GOOD[2], "external_id": "J-2", "special_groups": ["child\u0000"]},
             {**GOOD[2], "external_id": "J-3", "special_groups": [f"g{i}" for i in range(21)]},
             {**GOOD[2], "external_id": "J-4", "language": "zh-Hans-CN"}]
    jsonl.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    report = import_file(sessions, jsonl, vault=vault)
    assert report.imported == 0 and {b.row: b.message for b in report.bad} == {
        1: "language contains a NUL character (\\x00), which cityline does not accept",
        2: "special_groups contains a NUL character (\\x00), which cityline does not accept",
        3: "special_groups has more than 20 groups",
        4: "language longer than 8 characters",
    }


def test_nul_bytes_and_undecodable_bytes_mid_file_lose_their_rows_only(sessions, vault, tmp_path):
    path = write_csv(tmp_path / "orders.csv", answered(0, 30), encoding="utf-8")
    data = path.read_bytes()
    data = data.replace("第10位".encode(), b"\x00\x00\x00").replace("第20位".encode(), b"\xff\xfe\x00")
    path.write_bytes(data)
    report = import_file(sessions, path, vault=vault, batch_size=7)
    assert report.imported == 28 and [b.row for b in report.bad] == [12, 22]
    assert "NUL" in report.bad[0].message and "not UTF-8 text" in report.bad[1].message
    stored_once(sessions, {f"K-{i}" for i in range(30)} - {"K-10", "K-20"})


@contextmanager
def refusing_trigger(sessions, table: str, column: str):
    """While the block runs, a trigger of the database refuses rows of ``table`` whose
    ``column`` holds MARKER (PostgreSQL: a plpgsql exception; SQLite: RAISE(ABORT))."""
    postgres = sessions.kw["bind"].dialect.name == "postgresql"
    with sessions.begin() as session:
        if postgres:
            session.execute(text(f"""
                CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.{column} LIKE '%{MARKER}%' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF;
                    RETURN NEW;
                END $$"""))
            session.execute(text(f"CREATE TRIGGER refuse_marked BEFORE INSERT OR UPDATE ON {table} "
                                 "FOR EACH ROW EXECUTE FUNCTION refuse_marked()"))
        else:
            session.execute(text(f"""
                CREATE TRIGGER refuse_marked BEFORE INSERT ON {table}
                BEGIN SELECT RAISE(ABORT, 'refused by a test trigger') WHERE NEW.{column} LIKE '%{MARKER}%'; END"""))
    try:
        yield
    finally:
        with sessions.begin() as session:
            if postgres:
                session.execute(text(f"DROP TRIGGER IF EXISTS refuse_marked ON {table}"))
                session.execute(text("DROP FUNCTION IF EXISTS refuse_marked()"))
            else:
                session.execute(text("DROP TRIGGER IF EXISTS refuse_marked"))


def test_a_row_the_database_refuses_is_named_and_the_rest_go_in(sessions, vault, tmp_path):
    rows = answered(0, 50)
    rows[23]["text"] = f"{MARKER} 市民反映口罩买不到，电话13800001234"  # row 25 of the file
    path = write_csv(tmp_path / "orders.csv", rows)
    with refusing_trigger(sessions, "orders", "text"):
        report = import_file(sessions, path, vault=vault, batch_size=10)
    assert report.imported == 49 and [(b.row, b.message) for b in report.bad] == [
        (25, "the database refused the row (refused by a test trigger)")]  # the reason, not the row
    stored_once(sessions, {f"K-{i}" for i in range(50)} - {"K-23"})

    again = import_file(sessions, path, vault=vault, batch_size=10)  # the trigger gone: the rest goes in
    assert (again.imported, again.already_present, again.bad) == (1, 49, [])
    stored_once(sessions, {f"K-{i}" for i in range(50)})


@pytest.mark.postgres
def test_a_database_that_fails_stops_the_import_and_a_second_run_finishes_it(vault, tmp_path):
    """The connection dies mid-file (a trigger ends its own session): no row is to blame, so
    the import stops saying where; the batches before stay, and running it again finishes."""
    engine = make_engine(create_database(os.environ["CITYLINE_TEST_POSTGRES_URL"], "cityline_import_stopped"))
    create_all(engine)
    sessions = make_sessionmaker(engine)
    rows = answered(0, 40)
    rows[25]["text"] = f"{MARKER} 口罩"
    path = write_csv(tmp_path / "orders.csv", rows)
    with sessions.begin() as session:
        session.execute(text(f"""
            CREATE FUNCTION end_session() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.text LIKE '%{MARKER}%' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
                RETURN NEW;
            END $$"""))
        session.execute(text("CREATE TRIGGER end_session BEFORE INSERT ON orders "
                             "FOR EACH ROW EXECUTE FUNCTION end_session()"))
    try:
        with pytest.raises(ImportStopped, match=r"the database failed at row \d+ .*run the import again") as stopped:
            import_file(sessions, path, vault=vault, batch_size=10)
    finally:
        with sessions.begin() as session:
            session.execute(text("DROP TRIGGER IF EXISTS end_session ON orders"))
            session.execute(text("DROP FUNCTION IF EXISTS end_session()"))
    assert stopped.value.report.imported == 20 and count(sessions) == 20  # the two batches before
    again = import_file(sessions, path, vault=vault, batch_size=10)
    assert (again.imported, again.already_present, again.bad) == (20, 20, [])
    stored_once(sessions, {f"K-{i}" for i in range(40)})
    engine.dispose()


def test_overlapping_imports_at_once_both_finish_each_order_once(sessions, vault, tmp_path):
    """Two imports of files that share 600 orders, started together: each order is stored once,
    neither fails on the unique constraint (it used to, on PostgreSQL), and between them they
    count every shared order once as imported and once as already present. The second file
    lists the shared orders backwards, so the two take the days' number counters in opposite
    orders unless the importer sorts them."""
    shared = answered(0, 600)
    first = write_csv(tmp_path / "first.csv", shared + answered(600, 800))
    second = write_csv(tmp_path / "second.csv", shared[::-1] + answered(800, 1000))
    start = threading.Barrier(2)
    reports, errors = {}, []

    def run(name, path):
        start.wait()
        try:
            reports[name] = import_file(sessions, path, vault=vault, batch_size=50)
        except BaseException as exc:  # the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(name, path)) for name, path in (("a", first), ("b", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == [] and set(reports) == {"a", "b"}
    a, b = reports["a"], reports["b"]
    assert a.bad == [] and b.bad == []
    assert a.imported + b.imported == 1000 and a.already_present + b.already_present == 600
    stored_once(sessions, {f"K-{i}" for i in range(1000)})
    with sessions() as session:
        assert session.scalar(select(func.count(func.distinct(Order.number)))) == 1000


def test_an_order_stored_between_the_check_and_the_write_is_skipped_not_refused(sessions, vault):
    """A batch is checked for stored orders before it is built and written after: an order stored
    in between (by another import) is skipped by the write itself and counted as present. On
    PostgreSQL the batch's COPY meets it and the batch goes in by the insert that skips it."""
    rows = answered(0, 30)

    def numbered():
        for n, row in enumerate(rows, 2):
            if n == 2 + 15:  # batch one (K-0..K-9) is checked; it is written once batch two is read
                assert import_rows(sessions, [(2, rows[5])], vault=vault).imported == 1
            yield n, row

    report = import_rows(sessions, numbered(), vault=vault, batch_size=10)
    assert (report.imported, report.already_present, report.bad) == (29, 1, [])
    stored_once(sessions, {f"K-{i}" for i in range(30)})


# -- a real process, killed -----------------------------------------------------------------

def database_url(database: str, tmp_path, name: str) -> str:
    """A new, empty database for a command run as a process: a file, or one on the test server."""
    if database == "sqlite":
        return f"sqlite:///{tmp_path / name}.db"
    return create_database(os.environ["CITYLINE_TEST_POSTGRES_URL"], f"cityline_{name}")


def kill_once_stored(command: list[str], env: dict, stored, at_least: int) -> int:
    """Run ``command``, SIGKILL it as soon as ``stored()`` reaches ``at_least``, and return what
    is stored then (the test fails if the command finished before it could be killed)."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while process.poll() is None and stored() < at_least and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL  # killed, not finished
    return stored()


def importers_of(path) -> list[int]:
    """Processes importing ``path``: an import and the workers it forked (same command line)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(path).encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:  # gone meanwhile
            pass
    return found


@pytest.mark.slow
@pytest.mark.parametrize(("database", "workers"), [
    ("sqlite", "1"), ("sqlite", "2"), pytest.param("postgresql", "1", marks=pytest.mark.postgres)])
def test_an_import_killed_mid_file_finishes_when_run_again(database, workers, tmp_path):
    url = database_url(database, tmp_path, "orders_killed")
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    env = {**os.environ, "CITYLINE_DATA_DIR": str(tmp_path / "data"), "CITYLINE_DATABASE_URL": url}
    path = write_csv(tmp_path / "orders.csv", answered(0, 600))
    command = [sys.executable, "-m", "cityline", "orders", "import", str(path), "--no-triage", "--batch-size", "50",
               "--json", "--workers", workers]
    try:
        partial = kill_once_stored(command, env, lambda: stored(sessions), 100)
        assert 100 <= partial < 600 and partial % 50 == 0  # whole batches only
        deadline = time.monotonic() + 30  # the killed import's workers leave by themselves
        while importers_of(path) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert importers_of(path) == []
        assert count(sessions, OrderEvent) == 2 * partial  # each order with its events

        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        report = json.loads(done.stdout)
        assert (report["read"], report["imported"], report["already_present"], report["bad"]) == (
            600, 600 - partial, partial, 0)
        stored_once(sessions, {f"K-{i}" for i in range(600)})
    finally:
        engine.dispose()
