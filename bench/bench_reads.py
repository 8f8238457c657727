"""The console's reads at scale: queue, inbox, board, order list with filters, situation.

A store of ``--orders`` orders is generated in SQL (PostgreSQL: ``generate_series``;
SQLite: a recursive CTE, a million rows a transaction) with a realistic spread: 4,000
texts of the workload simulator's (a few in English), addresses varying by road and number, a
year of days ending now, 16 districts of 8 streets each with their street offices and
5 city departments, the taxonomy's kinds, categories and urgencies, channels,
special groups; orders older than 30 days are closed, merged or cancelled, younger
ones open the more the younger; each order carries the events of the steps its status
took (received, dispatch, accept, reply, visit, close: ~5 an order) and its timers
(accept reminder, deadline warning; a fired overdue escalation for some). It is kept
in ``--data`` (``reads-<db>-<orders>.db``, or the PostgreSQL cluster
``pg-<orders>``) and reused by later runs; every index of the models is created on it
if missing, so the store follows the schema.

Then each read is timed through the app on real HTTP (uvicorn in this process), as a
signed-in user of the role that uses it: the dispatcher's ``/queue`` (and its API), a street
office handler's ``/inbox``, a district supervisor's ``/board``, the order list
(``/api/orders`` unfiltered, by status, category, urgency, special group, its
next page by cursor, deep ``page=``; text searches ``q=``: common, middling, rare and absent words,
an English word, an address fragment, an order number) and ``/orders`` in the console, the analyst's
``/api/analytics/situation``. Beside them a baseline: ``GET /healthz`` and one order by
number (a primary-key-like lookup). p50/p95 in ms, the ratio of p50 to the order
lookup's, the load average before and after.

    .venv/bin/python bench/bench_reads.py --db sqlite --orders 1000000 --data /var/tmp/reads
    .venv/bin/python bench/bench_reads.py --db postgresql --orders 1000000 --data /var/tmp/reads
    (--build-only: build the store and stop; --repeat N: requests a read; --no-situation: without
    the situation page, whose analytics export takes minutes a million orders the first time;
    --profile N [--only WORD]: each read's top N functions by the server threads' own CPU clock,
    cProfile, as bench_post_cpu.py; --only: just the reads whose label has WORD)
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx2 as httpx  # the test extra installs httpx2 (pyproject.toml)
from sqlalchemy import Engine, event, inspect, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cityline.accounts.models import User  # noqa: E402
from cityline.accounts.service import create_user  # noqa: E402
from cityline.accounts.units import upsert_unit  # noqa: E402
from cityline.db import Base, make_engine, make_sessionmaker, transaction  # noqa: E402
from cityline.orders import search  # noqa: E402
from cityline.orders.models import Order  # noqa: E402
from cityline.schema import create_all, metadata  # noqa: E402
from tests.pg import _bin, _free_port  # noqa: E402

PASSWORD = "a bench reader password"
DISTRICTS = ("黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区", "闵行区", "宝山区", "嘉定区",
             "浦东新区", "金山区", "松江区", "青浦区", "奉贤区", "崇明区")
STREETS = 8
DEPARTMENTS = ("WJW", "JTW", "FGJ", "SCJ", "RSJ")
CHUNK = 1_000_000
SPAN_SECONDS = 365 * 86400
# Orders' texts: a few thousand of the workload simulator's (cityline/sim: its problems in an
# operator's, a caller's, a web user's words, with dialect and typing slips), a few in English; the
# address varies by road and number. A text search then means something: a word is in many orders,
# some, few or none.
TEXT_COUNT = 4000
ROADS = tuple(f"{a}{b}{c}" for a in ("长", "新", "南", "北", "东", "西", "中山", "延安", "人民", "建国", "淮海", "江苏",
                                        "漕溪", "虹桥", "曹杨", "四平", "共和", "天山", "龙华", "浦建")
              for b in ("", "一", "二", "东", "西") for c in ("路", "街")) + ("五角场支弄",)
LATIN = ("Street light broken near the metro exit, please repair.",
         "The WiFi at the community service centre does not work.",
         "Noise from the construction site after 10 pm every night.",
         "How do I apply for a residence permit? Please call back.",
         "Garbage not collected for three days on our lane.")
CATEGORIES = ("GEN.ENVIRONMENT", "GEN.HOUSING", "EPI.MEDICAL", "GEN.SAFETY", "EPI.TEST", "EPI.CODE",
              "GEN.UTILITIES", "GEN.LABOUR", "GEN.TRANSPORT", "EPI.POLICY", "EPI.SUPPLY", "GEN.MARKET",
              "GEN.WELFARE", "EPI.ISOLATION", "GEN.HOUSEHOLD", "GEN.OTHER")
KINDS = ("complaint", "help", "report", "consult", "suggestion", "complaint", "help", "report", "praise", "complaint")
CHANNELS = ("phone",) * 14 + ("app", "app", "web", "wechat", "email", "tipoff")


def texts() -> list[str]:
    """TEXT_COUNT texts from the simulator (fixed seed: the same store every build), English ones among them."""
    import numpy as np

    from cityline.sim.catalogue import problems
    from cityline.sim.texts import KINDS as SIM_KINDS
    from cityline.sim.texts import RANDOM_COLUMNS, STYLES, assemble_texts

    rng = np.random.default_rng(12345)
    n = TEXT_COUNT - len(LATIN) * 8
    places = np.array([f"{ROADS[k % len(ROADS)]}{k % 97 + 1}号" for k in range(n)], dtype=object)
    made = assemble_texts(rng.integers(0, len(problems()), n), rng.integers(0, len(SIM_KINDS), n), rng.random(n) < 0.05,
                          np.zeros(n, dtype=int), rng.integers(0, len(STYLES), n), rng.random(n) < 0.05,
                          rng.random(n) < 0.03, rng.integers(0, 2**31, (n, RANDOM_COLUMNS)), places)
    return [*made.tolist(), *(f"{t} (#{k})" for t in LATIN for k in range(8))]


def pick(values: tuple[str, ...], hashed: str) -> str:
    """A CASE choosing one of ``values`` by ``hashed`` modulo their count (SQL)."""
    whens = " ".join(f"WHEN {k} THEN '{v}'" for k, v in enumerate(values))
    return f"CASE ({hashed}) % {len(values)} {whens} END"


# -- the store ---------------------------------------------------------------------------------------------------

def units(engine: Engine) -> None:
    """The city: centre, 16 district centres with 8 street offices each, 5 departments; and the
    slot table the generator joins to (slot → unit, district, street)."""
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        upsert_unit(session, {"code": "SH", "name": "上海市12345市民服务热线", "kind": "centre"})
        for d, district in enumerate(DISTRICTS):
            upsert_unit(session, {"code": f"SH-D{d:02d}", "name": f"{district}城运中心", "kind": "centre",
                                  "parent_code": "SH", "district": district})
            for s in range(STREETS):
                upsert_unit(session, {"code": f"SH-D{d:02d}-S{s}", "name": f"{district}第{s + 1}街道办事处",
                                      "kind": "street_office", "parent_code": f"SH-D{d:02d}",
                                      "district": district, "street": f"第{s + 1}街道"})
        for code in DEPARTMENTS:
            upsert_unit(session, {"code": f"SH-{code}", "name": f"市{code}", "kind": "department", "parent_code": "SH"})
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE bench_slots (slot INTEGER PRIMARY KEY, unit_id INTEGER, "
                             "district VARCHAR(64), street VARCHAR(64))")
        conn.exec_driver_sql(
            "INSERT INTO bench_slots SELECT ROW_NUMBER() OVER (ORDER BY code) - 1, id, district, street "
            "FROM units WHERE kind = 'street_office'")
        conn.exec_driver_sql(
            f"INSERT INTO bench_slots SELECT {len(DISTRICTS) * STREETS} - 1 + ROW_NUMBER() OVER (ORDER BY code), id, "
            "NULL, NULL FROM units WHERE kind = 'department'")
        conn.exec_driver_sql("CREATE TABLE bench_texts (k INTEGER PRIMARY KEY, text TEXT)")
        conn.exec_driver_sql("CREATE TABLE bench_roads (k INTEGER PRIMARY KEY, road TEXT)")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO bench_texts VALUES (:k, :text)"),
                     [{"k": k, "text": t} for k, t in enumerate(texts())])
        conn.execute(text("INSERT INTO bench_roads VALUES (:k, :road)"), [{"k": k, "road": r} for k, r in enumerate(ROADS)])


def order_sql(dialect: str, n: int, now: int) -> str:
    """INSERT … SELECT of orders numbered :first to :last out of ``n`` (ids = numbers), received over
    the year before ``now`` (epoch seconds), oldest first."""
    sqlite = dialect == "sqlite"
    rows = ("(WITH RECURSIVE s(i) AS (SELECT :first UNION ALL SELECT i + 1 FROM s WHERE i < :last) "
            "SELECT i FROM s)" if sqlite else "(SELECT i FROM generate_series(CAST(:first AS BIGINT), :last) AS i)")

    def ts(seconds: str) -> str:
        return (f"strftime('%Y-%m-%d %H:%M:%S', {seconds}, 'unixepoch') || '.000000'" if sqlite
                else f"to_timestamp({seconds})")

    def maybe(condition: str, seconds: str) -> str:
        return f"CASE WHEN {condition} THEN {ts(seconds)} END"

    number = ("strftime('%Y%m%d', e, 'unixepoch') || '-' || printf('%08d', i)" if sqlite
              else "to_char(to_timestamp(e), 'YYYYMMDD') || '-' || lpad(CAST(i AS TEXT), 8, '0')")
    groups = "CASE WHEN h6 < 40 THEN '[\"elderly\"]' WHEN h6 < 60 THEN '[\"child\", \"disabled\"]' " \
             "WHEN h6 < 70 THEN '[\"serious_illness\"]' ELSE '[]' END"
    groups = groups if sqlite else f"CAST({groups} AS JSON)"
    closed = "CASE WHEN h1 % 100 < 92 THEN 'closed' WHEN h1 % 100 < 96 THEN 'merged' ELSE 'cancelled' END"
    open_ = ("CASE WHEN h2 < 100 THEN 'received' WHEN h2 < 350 THEN 'dispatched' WHEN h2 < 700 THEN 'accepted' "
             "WHEN h2 < 850 THEN 'replied' WHEN h2 < 950 THEN 'visited' ELSE 'returned' END")
    hashes = ", ".join(f"(i * {a}) % 1000003 % 1000 AS h{k}" for k, a in
                       enumerate((7919, 104729, 15485863, 32452843, 49979687, 67867967, 86028121, 122949829), 1))
    base = (f"SELECT i, {now} - ({n} - i) * {SPAN_SECONDS} / {n} AS e, ({n} - i) * 8760 / {n} AS age_h, {hashes} "
            f"FROM {rows} AS r")
    labelled = (f"SELECT b.*, CASE WHEN age_h < 720 AND h1 < 500 * (720 - age_h) / 720 THEN {open_} ELSE {closed} END "
                f"AS status, CASE WHEN h4 < 50 THEN 'urgent' WHEN h4 < 200 THEN 'sub_urgent' ELSE 'normal' END AS urgency "
                f"FROM ({base}) AS b")
    deadline = "CASE urgency WHEN 'urgent' THEN 86400 WHEN 'sub_urgent' THEN 3 * 86400 ELSE 7 * 86400 END"
    handled = "status NOT IN ('received', 'merged', 'cancelled')"
    return f"""
INSERT INTO orders (id, number, external_id, channel, text, received_at, caller_phone_masked, address, district,
    street, language, kind, category, urgency, special_groups, triage_source, needs_confirmation, status, unit_id,
    dispatched_at, accepted_at, replied_at, visited_at, closed_at, satisfaction, returns, reopens, paused,
    extension_requested, sla_policy, accept_by, respond_by, resolve_by, created_at, updated_at)
SELECT i, {number}, NULL, {pick(CHANNELS, 'h7')}, t.text, {ts('e')},
    '138****' || CAST(1000 + i % 9000 AS TEXT), p.district || p.street || rd.road || CAST(i % 700 AS TEXT) || '号',
    p.district, p.street, CASE WHEN h8 < 10 THEN 'en' WHEN h8 < 15 THEN 'ja' ELSE 'zh' END,
    {pick(KINDS, 'h5')}, {pick(CATEGORIES, 'h3 * 7 + h5')}, urgency, {groups}, 'import',
    status = 'received' AND h7 < 300, status,
    CASE WHEN {handled} OR status = 'returned' THEN (CASE WHEN h5 < 150 THEN dp.unit_id ELSE p.unit_id END) END,
    {maybe(f"{handled} OR status = 'returned'", 'e + 600')},
    {maybe("status IN ('accepted', 'replied', 'visited', 'closed')", 'e + 3600')},
    {maybe("status IN ('replied', 'visited', 'closed')", 'e + 86400')},
    {maybe("status IN ('visited', 'closed')", 'e + 100000')},
    {maybe("status = 'closed'", 'e + 120000')},
    CASE WHEN status IN ('visited', 'closed') THEN {pick(('satisfied', 'satisfied', 'basic', 'unsatisfied'), 'h6')} END,
    CASE WHEN status = 'returned' THEN 1 ELSE 0 END, 0, status = 'accepted' AND h6 < 20,
    {maybe("status = 'accepted' AND h6 >= 20 AND h6 < 50", 'e + 7200')},
    urgency, {ts('e + 7200')}, {ts('e + 86400')},
    CASE WHEN status IN ('merged', 'cancelled') THEN NULL ELSE {ts(f'e + {deadline}')} END,
    {ts('e')}, {ts('e + 600')}
FROM ({labelled}) AS o
JOIN bench_slots AS p ON p.slot = o.h3 % {len(DISTRICTS) * STREETS}
JOIN bench_slots AS dp ON dp.slot = {len(DISTRICTS) * STREETS} + o.h5 % {len(DEPARTMENTS)}
JOIN bench_texts AS t ON t.k = (o.h3 * 1000 + o.h8) % {TEXT_COUNT}
JOIN bench_roads AS rd ON rd.k = (o.h6 * 1000 + o.h2) % {len(ROADS)}"""


# Each status's steps, in the order they were taken (returned: received, dispatch, return).
STEPS = (("received", None, "received", 0), ("dispatch", "received", "dispatched", 600),
         ("accept", "dispatched", "accepted", 3600), ("reply", "accepted", "replied", 86400),
         ("visit", "replied", "visited", 100000), ("close", "visited", "closed", 120000))
STEP_COUNT = {"received": 1, "dispatched": 2, "accepted": 3, "replied": 4, "visited": 5, "closed": 6,
              "returned": 3, "merged": 2, "cancelled": 2}


def event_sql(dialect: str) -> str:
    """INSERT … SELECT of the events of orders :first to :last: the steps their status took."""
    sqlite = dialect == "sqlite"
    at = ("strftime('%Y-%m-%d %H:%M:%S', CAST(strftime('%s', o.received_at) AS INTEGER) + st.offs, 'unixepoch') "
          "|| '.000000'" if sqlite else "o.received_at + st.offs * INTERVAL '1 second'")
    steps = " UNION ALL ".join(f"SELECT {k} AS k, '{a}' AS action, " + (f"'{f}'" if f else "NULL")
                               + f" AS from_status, '{t}' AS to_status, {s} AS offs"
                               for k, (a, f, t, s) in enumerate(STEPS, 1))
    count = " ".join(f"WHEN '{s}' THEN {c}" for s, c in STEP_COUNT.items())
    # The last step of a merged, cancelled or returned order is that move, not the loop's next one.
    action = ("CASE WHEN st.k = 2 AND o.status IN ('merged', 'cancelled') THEN "
              "CASE o.status WHEN 'merged' THEN 'merge' ELSE 'cancel' END "
              "WHEN st.k = 3 AND o.status = 'returned' THEN 'return' ELSE st.action END")
    to_status = f"CASE WHEN ({action}) IN ('merge', 'cancel', 'return') THEN o.status ELSE st.to_status END"
    data = "'{}'" if sqlite else "CAST('{}' AS JSON)"
    return f"""
INSERT INTO order_events (order_id, at, actor, action, from_status, to_status, data, note)
SELECT o.id, {at}, 'bench', {action}, st.from_status, {to_status}, {data}, NULL
FROM orders AS o JOIN ({steps}) AS st ON st.k <= CASE o.status {count} END
WHERE o.id BETWEEN :first AND :last ORDER BY o.id, st.k"""


def timer_sql(dialect: str, now: int) -> str:
    """INSERT … SELECT of the timers of orders :first to :last: accept reminder and deadline warning
    (pending while open, else cancelled), and a fired overdue escalation for 4 in 100 and for open
    orders a day past their deadline."""
    sqlite = dialect == "sqlite"
    payload = "'{}'" if sqlite else "CAST('{}' AS JSON)"
    fired_now = ("strftime('%Y-%m-%d %H:%M:%S', 'now') || '.000000'" if sqlite else "now()")
    past = (f"strftime('%Y-%m-%d %H:%M:%S', {now} - 86400, 'unixepoch') || '.000000'" if sqlite
            else f"to_timestamp({now} - 86400)")
    open_ = "o.status NOT IN ('closed', 'merged', 'cancelled')"
    return f"""
INSERT INTO sla_timers (order_id, order_number, kind, due_at, state, recipient, attempts, payload, created_at,
    fired_at)
SELECT o.id, o.number, t.kind, CASE WHEN t.kind = 'accept_reminder' THEN o.accept_by ELSE o.respond_by END,
    CASE WHEN {open_} THEN 'pending' ELSE 'cancelled' END, NULL, 0, {payload}, o.received_at, NULL
FROM orders AS o JOIN (SELECT 'accept_reminder' AS kind UNION ALL SELECT 'deadline_warning') AS t ON 1 = 1
WHERE o.id BETWEEN :first AND :last AND o.resolve_by IS NOT NULL
UNION ALL
SELECT o.id, o.number, 'overdue_escalation', o.resolve_by, 'fired', 'role:supervisor', 1, {payload}, o.received_at,
    {fired_now}
FROM orders AS o
WHERE o.id BETWEEN :first AND :last AND o.resolve_by IS NOT NULL
  AND ((o.id * 7) % 100 < 4 OR ({open_} AND o.resolve_by < {past}))"""


def ensure_indexes(engine: Engine) -> None:
    """The tables and indexes the models declare and no other index: created where the stored copy
    lacks them, dropped where the models no longer have them (a store built before follows the
    schema)."""
    metadata().create_all(engine, checkfirst=True)  # a table the models gained since the store was built
    stored = inspect(engine)
    for table in metadata().sorted_tables:  # every domain's models imported (the timers' too)
        declared = {index.name for index in table.indexes}
        for found in stored.get_indexes(table.name):
            if found["name"].startswith("ix_") and found["name"] not in declared:
                with engine.begin() as conn:
                    conn.exec_driver_sql(f"DROP INDEX {found['name']}")
        for index in table.indexes:
            index.create(engine, checkfirst=True)


BULK_TABLES = ("orders", "order_events", "sla_timers")


def build(engine: Engine, n: int) -> None:
    """The store, loaded without the bulk tables' secondary indexes (each row would update a dozen
    B-trees at random places), which ``ensure_indexes`` then builds once each, sorted."""
    dialect = engine.dialect.name
    create_all(engine)
    with engine.begin() as conn:
        for table in BULK_TABLES:  # a name once (an index spelt for each database is two objects)
            for name in sorted({index.name for index in Base.metadata.tables[table].indexes}):
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    units(engine)
    now = int(time.time())
    steps = [("orders", order_sql(dialect, n, now)), ("events", event_sql(dialect)), ("timers", timer_sql(dialect, now))]
    for name, sql in steps:
        began = time.perf_counter()
        for first in range(1, n + 1, CHUNK):
            with engine.begin() as conn:
                conn.execute(text(sql), {"first": first, "last": min(first + CHUNK - 1, n)})
            print(f"    {name}: {min(first + CHUNK - 1, n):,} of {n:,} orders done, "
                  f"{time.perf_counter() - began:.0f} s, load {os.getloadavg()[0]:.2f}", flush=True)
    with engine.begin() as conn:
        for table in ("bench_slots", "bench_texts", "bench_roads"):
            conn.exec_driver_sql(f"DROP TABLE {table}")
        if dialect == "postgresql":
            for table in ("orders", "order_events", "sla_timers"):
                conn.exec_driver_sql(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
    analyze(engine)


def ensure_search(engine: Engine) -> None:
    """The orders' text index (orders/search.py), made and filled as migration 0018 does it where
    the store has none, or has it empty (its orders were inserted by SQL, as ``build`` does)."""
    with engine.begin() as conn:
        if inspect(conn).has_table(search.TABLE):
            if conn.execute(search.candidates(conn.dialect.name, search.match_text(conn.dialect.name, ["00"]))
                            .limit(1)).first():
                return
            conn.exec_driver_sql(f"DROP TABLE {search.TABLE}")
    print("  indexing the orders' texts as migration 0018 does …", flush=True)
    began = time.perf_counter()

    def progress(done: int) -> None:
        if done % 200_000 == 0:
            print(f"    {done:,} orders indexed, {time.perf_counter() - began:.0f} s, load {os.getloadavg()[0]:.2f}",
                  flush=True)

    with engine.begin() as conn:
        table, *indexes = search.create_statements(conn.dialect.name)
        conn.exec_driver_sql(table)
        search.backfill(conn, progress=progress)
        for statement in indexes:
            conn.exec_driver_sql(statement)
    print(f"  text index made in {time.perf_counter() - began:.0f} s", flush=True)


def analyze(engine: Engine, built: bool = False) -> None:
    """Planner statistics, as a database in service has them (PostgreSQL's autovacuum; SQLite's
    ``PRAGMA optimize``, which cityline's engine runs on close). A PostgreSQL store just built is
    vacuumed too, as autovacuum would in service: the escalations' trigger marked 4 in 100 orders
    after they were stored, and until a vacuum their pages are not all-visible, so the lists'
    index-only counts read the table (category 11 → 53 ms at 1 M)."""
    if built and engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


class Cluster:
    """A PostgreSQL cluster kept in the data folder (not a throwaway: the store is reused)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> bool:
        """Start it (made first when missing); True when it was made now."""
        made = not (self.folder / "PG_VERSION").exists()
        if made:
            self.folder.mkdir(parents=True, exist_ok=True)
            if self.as_user:
                shutil.chown(self.folder, "postgres")
            subprocess.run([*self.as_user, _bin("initdb"), "-D", str(self.folder), "-U", "postgres", "--auth=trust",
                            "--encoding=UTF8", "--locale=C"], check=True, stdout=subprocess.DEVNULL)
        options = (f"-p {self.port} -k /tmp -c shared_buffers=1GB -c max_wal_size=1GB -c work_mem=16MB "
                   "-c synchronous_commit=off")
        subprocess.run([*self.as_user, _bin("pg_ctl"), "-D", str(self.folder), "-o", options, "-l",
                        str(self.folder / "log"), "-w", "start"], check=True, stdout=subprocess.DEVNULL)
        return made

    def stop(self) -> None:
        subprocess.run([*self.as_user, _bin("pg_ctl"), "-D", str(self.folder), "-m", "fast", "-w", "stop"],
                       stdout=subprocess.DEVNULL)


def open_store(db: str, n: int, folder: Path) -> tuple[Engine, Cluster | None]:
    """The store of ``n`` orders, built when missing."""
    folder.mkdir(parents=True, exist_ok=True)
    cluster = None
    if db == "sqlite":
        path = folder / f"reads-sqlite-{n}.db"
        fresh = not path.exists()
        engine = make_engine(f"sqlite:///{path}")
    else:
        cluster = Cluster(folder / f"pg-{n}")
        fresh = cluster.start()
        engine = make_engine(cluster.url)
    if fresh:
        print(f"  building {n:,} orders on {db} in {folder} …", flush=True)
        began = time.perf_counter()
        build(engine, n)
        print(f"  built in {time.perf_counter() - began:.0f} s", flush=True)
    ensure_search(engine)
    began = time.perf_counter()
    ensure_indexes(engine)
    analyze(engine, built=fresh)
    print(f"  indexes checked and statistics refreshed in {time.perf_counter() - began:.0f} s", flush=True)
    return engine, cluster


# -- the reads ---------------------------------------------------------------------------------------------------

USERS = {  # who reads what: (roles, unit)
    "bench.dispatcher": (["dispatcher"], "SH"),
    "bench.handler": (["unit_handler"], "SH-D03-S2"),
    "bench.supervisor": (["supervisor"], "SH-D03"),
    "bench.operator": (["operator"], "SH"),
    "bench.analyst": (["analyst"], "SH"),
}


def ensure_users(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        have = set(session.scalars(select(User.username)))
        for name, (roles, unit) in USERS.items():
            if name not in have:
                create_user(session, name, PASSWORD, roles, unit=unit, actor="bench")


# The text searches timed (the order list's ``q``): a word in a fifth of all orders, in one in a
# hundred, in one in 4,000, in none; an English word, an address fragment; and an order's number.
SEARCHES = (("common 来电", "来电"), ("middling 路灯", "路灯"), ("rare 噪音", "噪音"), ("absent 燃气泄漏", "燃气泄漏"),
            ("Latin light", "light"), ("address 延安东路123号", "延安东路123号"))


def reads(number: str) -> list[tuple[str, str, str]]:
    """(label, who, path) of every read timed; the first two are the baseline."""
    return [
        ("GET /healthz", "bench.operator", "/healthz"),
        ("one order by number", "bench.operator", f"/api/orders/{number}"),
        ("queue (dispatcher)", "bench.dispatcher", "/queue"),
        ("queue API, 50 (dispatcher)", "bench.dispatcher", "/api/dispatch/queue"),
        ("inbox (street office)", "bench.handler", "/inbox"),
        ("board (district supervisor)", "bench.supervisor", "/board"),
        ("list, no filter", "bench.operator", "/api/orders?page_size=50"),
        ("list, next page (cursor)", "bench.operator", "CURSOR"),
        ("list, page=200", "bench.operator", "/api/orders?page_size=50&page=200"),
        ("list, status=accepted", "bench.operator", "/api/orders?status=accepted"),
        ("list, category", "bench.operator", "/api/orders?category=EPI.MEDICAL"),
        ("list, category branch EPI.", "bench.operator", "/api/orders?category=EPI."),
        ("list, urgency=urgent open", "bench.operator", "/api/orders?urgency=urgent&open=true"),
        ("list, overdue", "bench.operator", "/api/orders?overdue=true&sort=deadline"),
        ("list, special groups open", "bench.operator", "/api/orders?special_group=any&open=true"),
        ("list, foreign language", "bench.operator", "/api/orders?language=foreign"),
        *((f"search, {what}", "bench.operator", f"/api/orders?q={quote(q)}") for what, q in SEARCHES),
        ("search, order number", "bench.operator", f"/api/orders?q={number}"),
        ("list, district unit", "bench.operator", "/api/orders?unit=SH-D05-S1"),
        ("console /orders", "bench.operator", "/orders"),
        ("console /orders?status=", "bench.operator", "/orders?status=dispatched"),
        ("situation (analyst)", "bench.analyst", "/api/analytics/situation"),
    ]


def export(engine: Engine, data_dir: Path) -> None:
    """The analytics export the situation page reads (``<data_dir>/analytics``), brought up to date
    with the store as the server's background exporter does (incremental: kept between runs)."""
    from cityline.analytics.service import analytics_folder, refresh
    from cityline.config import get_settings

    os.environ["CITYLINE_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()
    began = time.perf_counter()
    report = refresh(make_sessionmaker(engine), analytics_folder())
    print(f"  analytics export brought up to date in {time.perf_counter() - began:.0f} s: {report.summary()}", flush=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


class Snapshot:
    """What pstats reads of a profiler still running (its own ``create_stats`` would stop it)."""

    def __init__(self, profiler: cProfile.Profile) -> None:
        self.profiler = profiler

    def create_stats(self) -> None:
        self.profiler.snapshot_stats()
        self.stats = self.profiler.stats


def measure(engine: Engine, repeat: int, situation: bool, profile: int = 0,
            only: str | None = None) -> list[tuple[str, list[float], float, list[float]]]:
    """Per read: the latencies, the CPU per request (client and server: one process) and the
    time each request spent in the database; with ``profile``, each read's top functions by the
    server threads' CPU clock (waiting on the database is not the CPU's)."""
    import uvicorn

    from cityline.api import create_app
    from cityline.privacy import Vault

    sessions = make_sessionmaker(engine)
    with sessions() as session:
        number = session.scalar(select(Order.number).where(Order.id == 1))
    in_sql = [0.0]  # seconds the server spent waiting on the database (requests go one at a time)

    def began(conn, *_args) -> None:
        conn.info["bench_began"] = time.perf_counter()

    def ended(conn, *_args) -> None:
        in_sql[0] += time.perf_counter() - conn.info.pop("bench_began", time.perf_counter())

    event.listen(engine, "before_cursor_execute", began)
    event.listen(engine, "after_cursor_execute", ended)
    profilers: list[cProfile.Profile] = []

    def profile_thread(*_) -> None:  # each server thread its own profiler (uvicorn's, the thread pool's)
        profilers.append(cProfile.Profile(time.thread_time))
        profilers[-1].enable()

    if profile:
        threading.setprofile(profile_thread)
    app = create_app(sessions, Vault("bench"))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    clients: dict[str, httpx.Client] = {}
    results = []
    try:
        for name in USERS:
            client = httpx.Client(base_url=base, timeout=300)
            client.post("/api/auth/login", json={"username": name, "password": PASSWORD}).raise_for_status()
            clients[name] = client
        for label, who, path in reads(number)[:None if situation else -1]:
            if only and only not in label and label != "one order by number":
                continue
            client = clients[who]
            if path == "CURSOR":
                path = client.get("/api/orders?page_size=50").json()["next"] or "/api/orders?page_size=50"
            first = client.get(path)  # warm: templates compiled, caches filled; not measured
            if first.status_code != 200:
                raise RuntimeError(f"{label}: HTTP {first.status_code}")
            for profiler in profilers:
                profiler.clear()
            times, sql, cpu = [], [], time.process_time()
            for _ in range(repeat):
                started, in_sql[0] = time.perf_counter(), 0.0
                client.get(path).raise_for_status()
                times.append(time.perf_counter() - started)
                sql.append(in_sql[0])
            results.append((label, times, (time.process_time() - cpu) / repeat, sql))
            if profilers:
                print(f"\n-- {label}: server CPU of {repeat} requests, top {profile} by cumulative time", flush=True)
                pstats.Stats(*map(Snapshot, profilers)).sort_stats("cumulative").print_stats(profile)
    finally:
        for client in clients.values():
            client.close()
        server.should_exit = True
        thread.join()
        threading.setprofile(None)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, required=True, help="folder keeping the stores between runs")
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per read")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="print each read's top N functions by the server threads' CPU time")
    parser.add_argument("--only", metavar="WORD", help="only the reads whose label has WORD (and the lookup)")
    parser.add_argument("--no-situation", dest="situation", action="store_false",
                        help="skip the situation page and the analytics export it reads (about 5 min a million orders "
                             "the first time on 2 busy cores; incremental after)")
    args = parser.parse_args()
    print(f"cores {os.cpu_count()}, load average at start {os.getloadavg()[0]:.2f}", flush=True)
    engine, cluster = open_store(args.db, args.orders, args.data)
    try:
        if args.build_only:
            return
        ensure_users(engine)
        if args.situation:
            export(engine, args.data / f"data-{args.db}-{args.orders}")
        load_before = os.getloadavg()[0]
        results = measure(engine, args.repeat, args.situation, args.profile, args.only)
        load_after = os.getloadavg()[0]
    finally:
        engine.dispose()
        if cluster:
            cluster.stop()
    lookup = percentile(next(times for label, times, *_ in results if label == "one order by number"), 50)
    print(f"\n{args.db}, {args.orders:,} orders stored, {args.repeat} requests each over real HTTP; ms; "
          f"load average {load_before:.2f} → {load_after:.2f}; cpu = client and server in this process")
    print("p50/p95: latency; cpu: client and server CPU per request (this process); sql: p50 of the time a "
          "request waited on the database")
    print(f"{'read':<34}{'p50':>8}{'p95':>8}{'cpu':>8}{'sql':>8}{'÷ lookup':>10}")
    for label, times, cpu, sql in results:
        p50 = percentile(times, 50)
        print(f"{label:<34}{p50 * 1000:>8.1f}{percentile(times, 95) * 1000:>8.1f}{cpu * 1000:>8.1f}"
              f"{percentile(sql, 50) * 1000:>8.1f}{p50 / lookup:>10.1f}")


if __name__ == "__main__":
    main()
