"""CPU time of recording one order (``POST /api/orders``), in process, SQLite and PostgreSQL.

The app as ``cityline serve`` builds it (triage, warmed up), called straight through ASGI one
request at a time with an operator's API token and the bodies bench_post_latency.py sends, on
a database holding units, the dispatch catalogue and ``--stored`` orders. Printed per database:
the process's CPU milliseconds per request (all threads: the event loop and the thread pool)
and wall milliseconds. CPU time is what the machine's load does not change, so this is the
figure to watch while the machine is busy. ``--profile N`` prints cProfile's top N functions
by cumulative CPU time (each thread's own clock) as well.

    .venv/bin/python bench/bench_post_cpu.py [--requests 400] [--stored 20000] [--profile 40]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_orders import TEXTS  # noqa: E402
from bench.bench_post_latency import ADDRESSES, prepare  # noqa: E402
from cityline.api import create_app  # noqa: E402
from cityline.db import make_engine, make_sessionmaker  # noqa: E402
from cityline.intake.triage import classify_with  # noqa: E402
from cityline.privacy import Vault  # noqa: E402
from cityline.server import warm_up  # noqa: E402
from tests.pg import ThrowawayPostgres, create_database  # noqa: E402


async def post(app, token: str, body: dict) -> int:
    """One ``POST /api/orders`` through the ASGI app, as uvicorn hands it over; the status."""
    raw = json.dumps(body, ensure_ascii=False).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/api/orders", "raw_path": b"/api/orders", "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
             "headers": [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {token}".encode()),
                         (b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]}
    sent = False
    status = 0

    async def receive() -> dict:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def body(i: int) -> dict:
    return {"text": f"{TEXTS[i % len(TEXTS)]}（第{i}次来电）", "channel": "phone",
            "caller_phone": f"1390{i % 8:03d}{i % 10000:04d}", "address": ADDRESSES[i % len(ADDRESSES)]}


def measure(label: str, url: str, args) -> None:
    token = prepare(url, args.stored)
    sessions = make_sessionmaker(make_engine(url, hide_parameters=True))
    app = create_app(sessions, Vault("bench"), classifier=classify_with)
    warm_up(sessions)

    async def run(first: int, count: int) -> None:
        for i in range(first, first + count):
            status = await post(app, token, body(i))
            if status != 201:
                raise RuntimeError(f"POST /api/orders answered {status}")

    asyncio.run(run(0, 30))  # first orders of each kind: not measured
    profilers: list[cProfile.Profile] = []
    if args.profile:
        # Each thread its own profiler (the endpoint runs in the thread pool, which each
        # asyncio.run starts afresh), merged at the end.
        # Timed by each thread's CPU clock: waiting (a commit's fsync, a lock) is not the CPU's.
        def profile_thread(*_) -> None:
            profilers.append(cProfile.Profile(time.thread_time))
            profilers[-1].enable()

        threading.setprofile(profile_thread)
        profile_thread()
    cpu, wall = time.process_time(), time.perf_counter()
    asyncio.run(run(30, args.requests))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profilers:
        threading.setprofile(None)
        profilers[0].disable()
    print(f"{label:<12} {args.requests} orders: CPU {cpu / args.requests * 1000:.1f} ms per request, "
          f"wall {wall / args.requests * 1000:.1f} ms" + (" (profiled)" if profilers else ""), flush=True)
    if profilers:
        pstats.Stats(*profilers).sort_stats(args.sort).print_stats(args.filter, args.profile)
    sessions.kw["bind"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--stored", type=int, default=20_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions by cumulative time")
    parser.add_argument("--sort", default="cumulative", help="the profile's order: cumulative, tottime, ...")
    parser.add_argument("--filter", default="", help="only the profile's functions whose path matches (e.g. cityline/)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                measure("SQLite", f"sqlite:///{Path(tmp) / 'cpu.db'}", args)
                continue
            pg = ThrowawayPostgres(durable=True)
            try:
                measure("PostgreSQL", create_database(pg.start(), "cityline_bench_cpu"), args)
            finally:
                pg.stop()


if __name__ == "__main__":
    main()
