"""Console reads while orders are being written, on SQLite: read transactions vs all-IMMEDIATE.

Two pages are read, each by its own thread at a steady pace (``--read-rate``
requests a second each): ``GET /api/orders?page_size=50`` with an API token
and the supervisor's board ``GET /board`` with a console session, while
``--writers`` threads create orders (``POST /api/orders``, triage included) as
fast as the server takes them. The server is uvicorn on 127.0.0.1 in a process
of its own, built as ``cityline serve`` builds it, over a SQLite file (WAL)
holding ``--stored`` orders.

The same run measures two modes on identical copies of that file:

- ``immediate`` (the baseline): every transaction, reads included, starts
  with ``BEGIN IMMEDIATE``, as before ``db.read_transaction`` existed
  (``make_engine(deferred_reads=False)``), so a read queues behind writers;
- ``deferred``: reads start with a deferred ``BEGIN`` and read their WAL
  snapshot without waiting.

Printed per mode: read latency p50/p95/p99 per page, writes/s, and the load
average; then the ratios baseline/deferred. About a minute in all.

    .venv/bin/python bench/bench_reads_under_writes.py [--seconds 12] [--writers 8] [--stored 20000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx  # the test extra installs httpx2 (pyproject.toml)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_orders import TEXTS, preload  # noqa: E402
from cityline.accounts.service import create_token, create_user  # noqa: E402
from cityline.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from cityline.schema import create_all  # noqa: E402
from tests.factories import add_units_and_catalogue  # noqa: E402
from tests.pg import _free_port  # noqa: E402

PASSWORD = "a bench supervisor password"
MODES = ("immediate", "deferred")  # baseline first
READS = (("GET /api/orders?page_size=50", "/api/orders?page_size=50"), ("GET /board", "/board"))
ADDRESSES = ("静安区曹家渡街道万航渡路123弄", "静安区江宁路街道昌平路", None)


def prepare(path: Path, stored: int) -> str:
    """The database both modes start from: units, catalogue, stored orders, a supervisor; an API token."""
    engine = make_engine(f"sqlite:///{path}")
    create_all(engine)
    sessions = make_sessionmaker(engine)
    add_units_and_catalogue(sessions)
    preload(sessions, stored)
    with transaction(sessions) as session:
        create_user(session, "bench.supervisor", PASSWORD, ["supervisor"], unit="SH", actor="bench")
        token, _ = create_token(session, "bench", ["operator", "dispatcher"], unit=None, actor="bench")
    engine.dispose()  # checkpoints the WAL into the file, so a copy of the file is the whole database
    return token


def serve(db: str, port: int, mode: str) -> None:
    """The server process: the app as ``cityline serve`` builds it, on ``db`` in ``mode``."""
    import uvicorn

    from cityline.api import create_app
    from cityline.intake.triage import classify_with
    from cityline.privacy import Vault

    engine = make_engine(f"sqlite:///{db}", deferred_reads=mode == "deferred")
    app = create_app(make_sessionmaker(engine), Vault("bench"), classifier=classify_with)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


@dataclass
class Phase:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {label: [] for label, _ in READS})
    writes: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


def run_mode(mode: str, template: Path, folder: Path, token: str, args) -> Phase:
    db = folder / f"{mode}.db"
    shutil.copy(template, db)
    port = _free_port()
    # The server's environment is the caller's, as for `cityline serve`: the shipped triage
    # model is read from the data directory's cache (trained there once when missing).
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(db), "--port", str(port), "--mode", mode])
    started = time.perf_counter()
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        httpx.post(f"{base}/api/orders", json={"text": "预热：加载分诊模型"}, headers=auth,
                   timeout=120).raise_for_status()
        print(f"  [{mode}] server up and warm in {time.perf_counter() - started:.1f} s", flush=True)
        console = httpx.Client(base_url=base, timeout=120)
        console.post("/api/auth/login", json={"username": "bench.supervisor", "password": PASSWORD}).raise_for_status()
        api = httpx.Client(base_url=base, headers=auth, timeout=120)
        for client, (_label, path) in zip((api, console), READS, strict=True):
            client.get(path).raise_for_status()  # templates compiled, caches warm: not measured
        phase, stop = Phase(), threading.Event()

        def writer(n: int) -> None:
            with httpx.Client(base_url=base, headers=auth, timeout=120) as client:
                i = 0
                while not stop.is_set():
                    body = {"text": TEXTS[(n + i) % len(TEXTS)], "caller_phone": f"1390000{n:02d}{i % 100:02d}",
                            "address": ADDRESSES[i % len(ADDRESSES)], "channel": "phone"}
                    response = client.post("/api/orders", json=body)
                    if response.status_code in (200, 201):
                        phase.writes += 1  # one writer per n: += under the GIL is fine for a count
                    else:
                        phase.errors.append(f"POST {response.status_code}")
                    i += 1

        def reader(label: str, path: str, client: httpx.Client) -> None:
            interval, due = 1 / args.read_rate, time.perf_counter()
            while not stop.is_set():
                began = time.perf_counter()
                response = client.get(path)
                elapsed = time.perf_counter() - began
                if response.status_code == 200:
                    phase.latencies[label].append(elapsed)
                else:
                    phase.errors.append(f"{label} {response.status_code}")
                due += interval  # a steady offered load: a late request is followed at once
                time.sleep(max(0.0, due - time.perf_counter()))

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(args.writers)]
        threads += [threading.Thread(target=reader, args=(READS[0][0], READS[0][1], api)),
                    threading.Thread(target=reader, args=(READS[1][0], READS[1][1], console))]
        load_before = os.getloadavg()[0]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        phase.seconds = time.perf_counter() - began
        phase.load = (load_before, os.getloadavg()[0])
        api.close()
        console.close()
        return phase
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=12, help="measured seconds per mode")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--read-rate", type=float, default=4, help="requests a second per read thread")
    parser.add_argument("--stored", type=int, default=20_000, help="orders in the database before the run")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.mode)
        return
    print(f"cores {os.cpu_count()}, load average at start {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        template = folder / "template.db"
        began = time.perf_counter()
        token = prepare(template, args.stored)
        print(f"  database prepared in {time.perf_counter() - began:.1f} s", flush=True)
        phases = {}
        for mode in MODES:
            phases[mode] = run_mode(mode, template, folder, token, args)
            print(f"  [{mode}] {phases[mode].writes} orders written in {phases[mode].seconds:.1f} s", flush=True)
    print(f"\nSQLite, {args.writers} writer threads creating orders, {len(READS)} readers at "
          f"{args.read_rate:g}/s each; {args.stored:,} orders stored; latency in ms")
    print(f"{'mode':<11}{'page':<32}{'reads':>6}{'p50':>8}{'p95':>8}{'p99':>8}{'writes/s':>10}{'load 1m':>14}")
    for mode, phase in phases.items():
        for label, values in phase.latencies.items():
            print(f"{mode:<11}{label:<32}{len(values):>6}" + "".join(
                f"{percentile(values, p) * 1000:>8.1f}" for p in (50, 95, 99))
                + f"{phase.writes / phase.seconds:>10.1f}{phase.load[0]:>7.2f}→{phase.load[1]:<6.2f}")
        if phase.errors:
            print(f"  [{mode}] {len(phase.errors)} failed requests, e.g. {phase.errors[:3]}")
    before, after = phases["immediate"], phases["deferred"]
    print("\nratio immediate/deferred (how many times faster reads are; writes/s ≈ 1 means writers lost nothing)")
    for label, _ in READS:
        print(f"  {label:<32}" + "  ".join(
            f"p{p} {percentile(before.latencies[label], p) / percentile(after.latencies[label], p):.1f}×"
            for p in (50, 95, 99)))
    print(f"  writes/s deferred/immediate {(after.writes / after.seconds) / (before.writes / before.seconds):.2f}")


if __name__ == "__main__":
    main()
