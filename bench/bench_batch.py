"""Orders per second through the batch intake (``POST /api/orders/batch``), PostgreSQL or SQLite,
against the floor: plain inserts of the same rows in the same run.

The server is ``cityline serve`` as bench_post_latency.py starts it (its own process or
``--workers N`` processes, triage, warm-up, the deadline worker beside it) over real HTTP on
127.0.0.1, on a database holding units, the dispatch catalogue and ``--stored`` orders.
``--clients`` threads each send batches of ``--batch`` orders (texts, callers, addresses varied,
each with its external_id, as the telephony gateway sends them) for ``--seconds``; every order
goes the full create path (triage, place, duplicates, catalogue, auto-dispatch, deadlines).

The floor, in the same run on the same database: the same number of orders written straight to
the tables (an order row and its received event each, Core ``insert`` of a batch per
transaction, no triage, no deadlines) — what storage alone costs. Printed: orders/s of both,
their ratio, the latency of a batch (p50/p99), the server's CPU per order and the load average.

    .venv/bin/python bench/bench_batch.py [--backend postgresql] [--stored 1000000] [--seconds 20]
        [--clients 2] [--batch 500] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx  # the test extra installs httpx2 (pyproject.toml)
from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_orders import TEXTS  # noqa: E402
from bench.bench_post_latency import ADDRESSES, prepare, server_cpu_seconds, wait_ready  # noqa: E402
from cityline.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from cityline.orders.models import Order, OrderEvent  # noqa: E402
from tests.pg import ThrowawayPostgres, _free_port, create_database  # noqa: E402

TARGET = 1000  # orders/s (issue 19: a city's peak with headroom)


def batch_body(client: int, first: int, size: int) -> dict:
    return {"orders": [{"external_id": f"GW-{client}-{first + i}", "text": TEXTS[(first + i) % len(TEXTS)],
                        "caller_phone": f"139{(client * 1_000_000 + first + i) % 100_000_000:08d}",
                        "address": ADDRESSES[(first + i) % len(ADDRESSES)]} for i in range(size)]}


def send_batches(base: str, token: str, clients: int, seconds: float, size: int) -> tuple[int, list[float], float]:
    """(orders created, each batch's seconds, wall seconds) of ``clients`` threads sending batches."""
    created, latencies, lock = [0], [], threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(n: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as http:
            sent = 0
            while time.perf_counter() < stop_at:
                began = time.perf_counter()
                answer = http.post("/api/orders/batch", json=batch_body(n, sent, size))
                answer.raise_for_status()
                body = answer.json()
                assert body["refused"] == 0, body["results"][:3]
                with lock:
                    created[0] += body["created"]
                    latencies.append(time.perf_counter() - began)
                sent += size

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return created[0], sorted(latencies), time.perf_counter() - began


def floor_rate(url: str, orders: int, size: int) -> float:
    """Orders/s of plain inserts (an order and its received event, a batch per transaction)."""
    sessions = make_sessionmaker(make_engine(url))
    with sessions() as session:
        base = session.scalar(select(func.max(Order.id))) or 0
    start = datetime.now(UTC) + timedelta(days=3650)  # a day of its own, far from the bench's orders
    began = time.perf_counter()
    for first in range(0, orders, size):
        rows = range(first, min(first + size, orders))
        at = [start + timedelta(seconds=i) for i in rows]
        with transaction(sessions) as session:
            session.execute(insert(Order), [
                {"id": base + i + 1, "number": f"{a:%Y%m%d}-F{i:06d}", "external_id": f"FLOOR-{i}",
                 "channel": "phone", "text": TEXTS[i % len(TEXTS)], "received_at": a, "kind": "complaint",
                 "category": "GEN.HOUSING", "urgency": "normal", "special_groups": [], "triage_source": "import",
                 "status": "received", "returns": 0, "reopens": 0, "created_at": a, "updated_at": a}
                for i, a in zip(rows, at, strict=True)])
            session.execute(insert(OrderEvent), [
                {"order_id": base + i + 1, "at": a, "actor": "bench", "action": "received", "from_status": None,
                 "to_status": "received", "data": {}, "note": None} for i, a in zip(rows, at, strict=True)])
    seconds = time.perf_counter() - began
    sessions.kw["bind"].dispose()
    return orders / seconds


def run(url: str, args) -> None:
    token = prepare(url, args.stored)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-c", "import sys; from bench.bench_post_latency import serve; "
         f"serve({url!r}, {port}, 'FULL', {args.workers})"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server, args.workers)
        send_batches(base, token, 1, 2, 20)  # warm the path (first batch's imports, caches)
        load_before = os.getloadavg()[0]
        cpu_before = server_cpu_seconds(server.pid)
        created, latencies, wall = send_batches(base, token, args.clients, args.seconds, args.batch)
        cpu = server_cpu_seconds(server.pid) - cpu_before
        load_after = os.getloadavg()[0]
    finally:
        server.terminate()
        server.wait(30)
    floor = floor_rate(url, created, args.batch)
    rate = created / wall
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(f"  batch intake: {created:,} orders in {wall:.1f} s = {rate:,.0f} orders/s "
          f"(target {TARGET:,}); a batch of {args.batch} p50 {p(0.5):,.0f} ms, p99 {p(0.99):,.0f} ms; "
          f"server CPU {cpu / max(created, 1) * 1000:.2f} ms per order; load {load_before:.1f} → {load_after:.1f}")
    print(f"  floor (plain inserts of as many rows): {floor:,.0f} orders/s; batch intake / floor = {rate / floor:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"batch intake on {args.backend}, {args.stored:,} stored, {args.clients} clients, "
          f"batches of {args.batch}, {args.workers} server process(es)")
    with tempfile.TemporaryDirectory() as tmp:
        if args.backend == "sqlite":
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", args)
            return
        server = ThrowawayPostgres()
        try:
            run(create_database(server.start(), "bench"), args)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
