"""Orders created per second through the API and through bulk import, on SQLite and PostgreSQL.

Each figure is measured twice in the same run: on an empty database (the city's units only:
the baseline) and on a copy of ``bench_reads.py``'s store of ``--stored`` orders (1 M by
default: a year of orders, open ones with their deadlines and timers, the text index), built
there by that script's code when ``--data`` lacks it and kept for later runs; the ratio
loaded/empty is printed. The API is real HTTP to uvicorn on 127.0.0.1, one client sending the
next order when the last is answered, triage classifying each as it would for an operator; the
import is of rows with their labels (no triage). PostgreSQL runs durably for both (the store's
cluster commits asynchronously while it is built; its copies here do not).

    .venv/bin/python bench/bench_orders.py --data /var/tmp/reads [--stored 1000000] [--api-orders 1000] [--import-rows 20000]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx  # the test extra installs httpx2 (pyproject.toml)
import uvicorn
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import bench_reads  # noqa: E402
from cityline.accounts.service import create_token  # noqa: E402
from cityline.api import create_app  # noqa: E402
from cityline.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from cityline.intake.importer import import_file  # noqa: E402
from cityline.intake.triage import classify_with  # noqa: E402
from cityline.orders.models import Order, OrderEvent, OrderSequence  # noqa: E402
from cityline.privacy import Vault  # noqa: E402
from cityline.schema import create_all  # noqa: E402
from tests.pg import ThrowawayPostgres, _free_port, create_database  # noqa: E402

TEXTS = ["小区封控，家里老人降压药快吃完了，请帮忙配药", "药店门口排队买口罩排了两个小时还没买到",
         "楼上装修噪声太大，晚上十点还在敲", "二房东没有把国企减免的房租给我们小商户",
         "健康码变黄了但我没去过中高风险地区，怎么申诉", "隔离酒店的饭菜是冷的，能不能改善一下"]


def preload(sessions, count: int) -> None:
    """``count`` closed historical orders with their received events, written straight to the tables."""
    start, chunk = datetime(2018, 1, 1, tzinfo=UTC), 20_000
    per_day = 20_000
    with sessions() as session:
        base = session.scalar(select(func.max(Order.id))) or 0
    for first in range(0, count, chunk):
        orders, events = [], []
        for i in range(first, min(first + chunk, count)):
            at = start + timedelta(days=i // per_day, seconds=(i % per_day) * 4)
            orders.append({"id": base + i + 1, "number": f"{at:%Y%m%d}-{i % per_day + 1:05d}", "external_id": f"P-{i}",
                           "channel": "phone", "text": TEXTS[i % len(TEXTS)], "received_at": at,
                           "kind": "complaint", "category": "GEN.HOUSING", "urgency": "normal",
                           "special_groups": [], "triage_source": "import", "status": "closed",
                           "closed_at": at + timedelta(hours=20), "returns": 0, "reopens": 0,
                           "created_at": at, "updated_at": at})
            events.append({"order_id": base + i + 1, "at": at, "actor": "bench", "action": "received",
                           "from_status": None, "to_status": "received", "data": {}, "note": None})
        with transaction(sessions) as session:
            session.execute(insert(Order), orders)
            session.execute(insert(OrderEvent), events)
    with transaction(sessions) as session:
        days = (count + per_day - 1) // per_day
        session.execute(insert(OrderSequence), [
            {"day": f"{start + timedelta(days=d):%Y%m%d}", "last": per_day} for d in range(days)])
    if sessions.kw["bind"].dialect.name == "postgresql":
        with sessions.kw["bind"].begin() as conn:
            conn.exec_driver_sql("SELECT setval('orders_id_seq', (SELECT max(id) FROM orders))")
            conn.exec_driver_sql("SELECT setval('order_events_id_seq', (SELECT max(id) FROM order_events))")
            conn.exec_driver_sql("ANALYZE")


def api_rate(sessions, vault, n: int) -> tuple[float, float]:
    """Orders per second, and the load average (1 min) when done."""
    app = create_app(sessions, vault, classifier=classify_with)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    with transaction(sessions) as session:
        token, _ = create_token(session, f"bench-{port}", ["operator"], unit=None, actor="bench")
    try:
        # The first order loads triage and the gazetteer: seconds on a busy machine, beyond httpx's 5 s default.
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                          timeout=120) as client:
            client.post("/api/orders", json={"text": "预热"}).raise_for_status()
            began = time.perf_counter()
            for i in range(n):
                client.post("/api/orders", json={"text": TEXTS[i % len(TEXTS)], "caller_phone": "13800001234",
                                                 "address": "静安区曹家渡街道"}).raise_for_status()
            return n / (time.perf_counter() - began), os.getloadavg()[0]
    finally:
        server.should_exit = True
        thread.join()


def import_rate(sessions, vault, rows: int, tag: str, folder: Path) -> tuple[float, float]:
    """Rows per second (labels given: no triage), and the load average (1 min) when done."""
    path = folder / f"import-{tag}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["external_id", "received_at", "text", "kind", "category", "urgency", "caller_phone"])
        for i in range(rows):
            writer.writerow([f"I-{tag}-{i}", f"2020-02-{1 + i % 28:02d}T09:{i % 60:02d}:00", TEXTS[i % len(TEXTS)],
                             "complaint", "GEN.HOUSING", "normal", f"1380000{i % 10000:04d}"])
    began = time.perf_counter()
    report = import_file(sessions, path, vault=vault)
    assert report.imported == rows, report.as_dict()
    return rows / (time.perf_counter() - began), os.getloadavg()[0]


@contextmanager
def database(db: str, stored: int, data: Path, folder: Path) -> Iterator[str]:
    """The URL of a fresh database: with the city's units alone (``stored`` 0), or a copy of
    bench_reads' store of ``stored`` orders; removed after."""
    if db == "sqlite":
        path = folder / f"orders-{stored}.db"
        if stored:
            engine, _ = bench_reads.open_store(db, stored, data)
            engine.dispose()  # its write-ahead log folded into the file before the copy
            shutil.copyfile(data / f"reads-sqlite-{stored}.db", path)
        else:
            empty(f"sqlite:///{path}")
        try:
            yield f"sqlite:///{path}"
        finally:
            path.unlink()
    elif not stored:
        server = ThrowawayPostgres()
        try:
            url = create_database(server.start(), "bench")
            empty(url)
            yield url
        finally:
            server.stop()
    else:
        engine, cluster = bench_reads.open_store(db, stored, data)
        engine.dispose()  # a template database is copied only while no one is connected to it
        admin = make_engine(cluster.url).execution_options(isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql("DROP DATABASE IF EXISTS bench_orders")
                conn.exec_driver_sql("CREATE DATABASE bench_orders TEMPLATE postgres")
                conn.exec_driver_sql("ALTER DATABASE bench_orders SET synchronous_commit = on")
            yield cluster.url.rsplit("/", 1)[0] + "/bench_orders"
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql("DROP DATABASE IF EXISTS bench_orders WITH (FORCE)")
            admin.dispose()
            cluster.stop()


def empty(url: str) -> None:
    """The schema and the city's units, as the store has them."""
    engine = make_engine(url)
    create_all(engine)
    bench_reads.units(engine)
    engine.dispose()


def run_backend(name: str, db: str, args, folder: Path) -> list[tuple[str, tuple[float, float], tuple[float, float]]]:
    measured = []
    for stored in (0, args.stored):
        with database(db, stored, args.data, folder) as url:
            engine = make_engine(url)
            sessions, vault = make_sessionmaker(engine), Vault("bench")
            measured.append((api_rate(sessions, vault, args.api_orders),
                             import_rate(sessions, vault, args.import_rows, f"{db}-{stored}", folder)))
            engine.dispose()
    (empty, loaded) = measured
    return [(f"{name} API (HTTP, with triage)", empty[0], loaded[0]),
            (f"{name} bulk import", empty[1], loaded[1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="bench_reads.py's folder of stores (built when missing)")
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--api-orders", type=int, default=1000)
    parser.add_argument("--import-rows", type=int, default=20_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"cores {os.cpu_count()}, load average at start {os.getloadavg()[0]:.2f}", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            name = "SQLite" if backend == "sqlite" else "PostgreSQL"
            results += run_backend(name, backend, args, Path(tmp))
    print(f"\norders per second (empty database = baseline; loaded = {args.stored:,} orders stored), "
          f"each with the load average beside it ({os.cpu_count()} cores)")
    print(f"{'path':<34}{'empty':>10}{'(load)':>8}{'loaded':>10}{'(load)':>8}{'loaded/empty':>14}")
    for label, (empty, empty_load), (loaded, loaded_load) in results:
        print(f"{label:<34}{empty:>10.0f}{empty_load:>8.1f}{loaded:>10.0f}{loaded_load:>8.1f}{loaded / empty:>14.2f}")


if __name__ == "__main__":
    main()
