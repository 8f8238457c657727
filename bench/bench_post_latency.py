"""Latency of recording an order (``POST /api/orders``) with 8 callers at once, SQLite and PostgreSQL.

The server is a process of its own, built as ``cityline serve`` builds it (triage, warm-up,
the deadline worker beside it), over real HTTP on 127.0.0.1; the measurement starts once
``/readyz`` says ready. The database holds units, the dispatch catalogue and ``--stored``
orders. ``--clients`` threads each send the next order as soon as the last is answered
(texts, callers and addresses varied; the full create path: triage, place, duplicates,
catalogue, auto-dispatch, deadlines, notifications) for ``--seconds``.

The baseline, in the same run and on the same server: ``GET /healthz`` by as many threads
(what HTTP, the event loop and the thread pool cost without any work). Printed per database:
p50/p95/p99 and requests/s of both, and the ratio POST/baseline.

SQLite is measured in two modes (each twice, alternating, as the machine's load drifts), with each commit flushed to disk (``synchronous=FULL``, what cityline
runs with) and without (``NORMAL``: a power loss may lose the last commits): the cost of
durability (README, "What an acknowledged order survives"), with the cost of a bare one-row
commit in each mode beside it. PostgreSQL is a throwaway server
of the bench's own with PostgreSQL's durable defaults (fsync, synchronous_commit on), or
``--postgres-url``.

With ``--workers N`` the server runs N processes (``cityline serve --workers N``), the
deadline worker once beside them.

With ``--rate R`` the orders are not sent by clients that wait for each answer but on a fixed
schedule, R per second (an open loop, as calls arrive whether or not the last was recorded),
and each latency counts from the instant its order was due: a server that falls behind shows
it as latency, not as a lower rate (no coordinated omission). They are sent from one asyncio
loop speaking HTTP/1.1 with h11 (~0.7 ms of processor an order, on the server's cores), not by
threads (~2 ms, and an answer waited for a thread to get the interpreter). The healthz baseline
is the same. Printed beside: processor per order of the server, of the bench's own senders, and
of the rest of the machine (the database).

    .venv/bin/python bench/bench_post_latency.py [--seconds 15] [--clients 8] [--stored 20000] [--workers 1]
    .venv/bin/python bench/bench_post_latency.py --backends postgresql --rate 100 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import h11
import httpx2 as httpx  # the test extra installs httpx2 (pyproject.toml)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_orders import TEXTS, preload  # noqa: E402
from cityline.accounts.service import create_token  # noqa: E402
from cityline.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from cityline.schema import create_all  # noqa: E402
from tests.factories import add_units_and_catalogue  # noqa: E402
from tests.pg import ThrowawayPostgres, _free_port, create_database  # noqa: E402

ADDRESSES = ("静安区曹家渡街道万航渡路123弄", "静安区江宁路街道昌平路", "徐汇区", None)
TARGET_P99_MS = 100
TARGET_P99_MS_AT_RATE = 50  # an open 100 orders/s on PostgreSQL


def prepare(url: str, stored: int) -> str:
    """Units, catalogue and ``stored`` orders on ``url``; an operator's API token."""
    engine = make_engine(url)
    create_all(engine)
    sessions = make_sessionmaker(engine)
    add_units_and_catalogue(sessions)
    preload(sessions, stored)
    with transaction(sessions) as session:
        token, _ = create_token(session, "bench", ["operator"], unit=None, actor="bench")
    engine.dispose()
    return token


def commit_cost(folder: Path, synchronous: str, n: int = 300) -> float:
    """Milliseconds per commit of a one-row insert on SQLite: the floor of what a mode costs."""
    engine = make_engine(f"sqlite:///{folder / f'commits-{synchronous}.db'}", synchronous=synchronous)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE rows (id INTEGER PRIMARY KEY, text TEXT)")
    began = time.perf_counter()
    for _ in range(n):
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO rows (text) VALUES (?)", (TEXTS[0],))
    engine.dispose()
    return (time.perf_counter() - began) / n * 1000


def bench_app():
    """The app in one of ``--workers`` server processes (uvicorn imports it there afresh)."""
    from functools import partial

    from cityline import logs
    from cityline.api import create_app
    from cityline.intake.triage import classify_with
    from cityline.privacy import Vault
    from cityline.server import warm_up

    logs.configure()
    logs.access.setLevel("ERROR")
    url, synchronous = os.environ["BENCH_URL"], os.environ["BENCH_SYNCHRONOUS"]
    sessions = make_sessionmaker(make_engine(url, synchronous=synchronous, hide_parameters=True, **pool_options(url)))
    return create_app(sessions, Vault("bench"), classifier=classify_with, warm_up=partial(warm_up, sessions))


def pool_options(url: str) -> dict:
    """The pool of each server process as ``cityline serve`` sizes it (CITYLINE_DB_POOL_SIZE,
    CITYLINE_DB_MAX_OVERFLOW), on PostgreSQL."""
    from cityline.config import get_settings

    settings = get_settings()
    return {} if url.startswith("sqlite") else {"pool_size": settings.db_pool_size,
                                                "max_overflow": settings.db_max_overflow}


def serve(url: str, port: int, synchronous: str, workers: int = 1) -> None:
    """The server process: the app and worker as ``cityline serve [--workers N]`` builds them, on ``url``."""
    import threading as threads
    from functools import partial

    import uvicorn

    from cityline import logs
    from cityline.api import create_app
    from cityline.intake.triage import classify_with
    from cityline.outbox.identity import WorkerIdentity
    from cityline.outbox.senders import standard
    from cityline.privacy import Vault
    from cityline.server import run_processes, warm_up
    from cityline.sla.messages import reminder_handler
    from cityline.sla.worker import run_forever

    logs.configure()
    logs.access.setLevel("ERROR")  # a line per request would be the bench's own cost (and warm-up 503s)
    sessions = make_sessionmaker(make_engine(url, synchronous=synchronous, hide_parameters=True, **pool_options(url)))
    stop = threads.Event()
    vault = Vault("bench")
    sender = standard(sessions, Path(tempfile.gettempdir()) / f"bench-outbox-{port}.log", vault)
    threads.Thread(target=run_forever, daemon=True, args=(sessions, WorkerIdentity.new(f"serve:{port}"),
                                                          reminder_handler("Asia/Shanghai"), sender, stop)).start()
    if workers > 1:  # the worker thread above runs once, in this supervising process
        os.environ.update(BENCH_URL=url, BENCH_SYNCHRONOUS=synchronous)
        run_processes("bench.bench_post_latency:bench_app", workers, "127.0.0.1", port)
        return
    app = create_app(sessions, vault, classifier=classify_with, warm_up=partial(warm_up, sessions))
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000 if ordered else float("nan")

    def merge(self, other: Run) -> Run:
        return Run(self.latencies + other.latencies, self.errors + other.errors, self.seconds + other.seconds)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def order_body(n: int, i: int) -> dict:
    """The ``i``-th order of caller ``n``: texts, callers and addresses varied."""
    return {"text": f"{TEXTS[(n + i) % len(TEXTS)]}（第{i}次来电）", "channel": "phone",
            "caller_phone": f"1390{n:03d}{i % 10000:04d}", "address": ADDRESSES[i % len(ADDRESSES)]}


def hammer(base: str, token: str, clients: int, seconds: float, post: bool) -> Run:
    """``clients`` threads, each sending its next request when the last is answered."""
    run, stop, lock = Run(), threading.Event(), threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as http:
            i = 0
            while not stop.is_set():
                began = time.perf_counter()
                if post:
                    answer = http.post("/api/orders", json=order_body(n, i))
                else:
                    answer = http.get("/healthz")
                elapsed = time.perf_counter() - began
                with lock:
                    if answer.status_code in (200, 201):
                        run.latencies.append(elapsed)
                    else:
                        run.errors.append(str(answer.status_code))
                i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    run.seconds = time.perf_counter() - began
    return run


def at_rate(base: str, token: str, rate: float, seconds: float, connections: int = 64) -> Run:
    """Orders sent on a fixed schedule, ``rate`` per second for ``seconds`` (an open loop: the
    next is due whether or not the last was answered), each latency counted from the instant it
    was due, so time spent waiting for a free connection counts too.

    One thread, one asyncio loop, HTTP/1.1 spoken with h11 over up to ``connections`` kept-alive
    connections: the sender shares the server's cores, so it must cost little and never make an
    answer wait for it. (Threads with a blocking client each took ~2 ms of processor an order
    here, and an answer came back to a thread that then waited for the interpreter's lock.)"""
    return asyncio.run(_at_rate(base, token, rate, seconds, connections))


async def _at_rate(base: str, token: str, rate: float, seconds: float, connections: int) -> Run:
    host, port = base.removeprefix("http://").split(":")
    run, idle = Run(), []
    free = asyncio.Semaphore(connections)

    async def post(i: int, scheduled: float) -> None:
        async with free:
            # The most recently used connection, unless the server may be closing it: uvicorn
            # closes a connection idle for 5 s, and an order sent on it then would be lost.
            while idle and time.monotonic() - idle[-1][3] > 4:
                idle.pop()[1].close()
            if idle:
                reader, writer, http, _ = idle.pop()
            else:
                reader, writer = await asyncio.open_connection(host, int(port))
                http = h11.Connection(h11.CLIENT)
            body = json.dumps(order_body(i % 48, i), ensure_ascii=False).encode()
            writer.write(http.send(h11.Request(method="POST", target="/api/orders", headers=[
                ("Host", host), ("Authorization", f"Bearer {token}"), ("Content-Type", "application/json"),
                ("Content-Length", str(len(body)))])) + http.send(h11.Data(data=body)) + http.send(h11.EndOfMessage()))
            status = None
            try:
                while not isinstance(event := http.next_event(), h11.EndOfMessage):
                    if event is h11.NEED_DATA:
                        http.receive_data(await reader.read(65536))
                    elif isinstance(event, h11.Response):
                        status = event.status_code
            except (h11.ProtocolError, OSError) as error:
                run.errors.append(type(error).__name__)
                writer.close()
                return
            elapsed = time.perf_counter() - scheduled
            if status == 201:
                run.latencies.append(elapsed)
            else:
                run.errors.append(str(status))
            http.start_next_cycle()
            idle.append((reader, writer, http, time.monotonic()))

    began = time.perf_counter()
    tasks = []
    for i in range(int(rate * seconds)):
        scheduled = began + i / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        tasks.append(asyncio.create_task(post(i, scheduled)))
    await asyncio.gather(*tasks)
    run.seconds = time.perf_counter() - began
    for _, writer, _, _ in idle:
        writer.close()
    return run


def server_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by the server process and its worker processes (Linux's /proc;
    0 elsewhere): what each order costs the machine, apart from the bench's own clients."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy so far, all cores (Linux's /proc/stat; 0
    elsewhere): less the server's and the bench's own, what the rest (the database) took."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_ready(base: str, server: subprocess.Popen, workers: int, seconds: float = 300) -> None:
    """Until the server's ``/readyz`` says ready; raises when it exits or takes longer."""
    deadline, ready = time.monotonic() + seconds, 0
    while True:
        try:
            ready = ready + 1 if httpx.get(f"{base}/readyz", timeout=5).status_code == 200 else 0
        except httpx.TransportError:
            ready = 0
        # Each server process warms up on its own and any may answer: with several, ready
        # means many answers in a row say so, not the first.
        if ready >= (1 if workers == 1 else 10 * workers):
            return
        if time.monotonic() > deadline or server.poll() is not None:
            raise RuntimeError("the server did not become ready")
        time.sleep(0.2)


def measure(label: str, url: str, token: str, args, synchronous: str = "FULL") -> tuple[Run, Run]:
    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", url, "--port", str(port),
                               "--synchronous", synchronous, "--workers", str(args.workers)], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server, args.workers)
        hammer(base, token, args.clients, 2, post=True)  # first orders of each kind: not measured
        baseline = hammer(base, token, args.clients, args.seconds / 3, post=False)
        cpu, own, machine = server_cpu_seconds(server.pid), time.process_time(), machine_busy_seconds()
        posts = (at_rate(base, token, args.rate, args.seconds) if args.rate
                 else hammer(base, token, args.clients, args.seconds, post=True))
        cpu, own = server_cpu_seconds(server.pid) - cpu, time.process_time() - own
        machine = machine_busy_seconds() - machine
        per_order = 1000 / max(1, len(posts.latencies))
        # Where the machine's processor went, per order: the server's processes, this bench's own
        # senders (on the same cores), and the rest (the database server, anything else running).
        print(f"  [{label}] {len(posts.latencies)} orders in {posts.seconds:.1f} s, load {os.getloadavg()[0]:.2f}, "
              f"CPU per order: server {cpu * per_order:.1f} ms, bench senders {own * per_order:.1f} ms, "
              f"rest {(machine - cpu - own) * per_order:.1f} ms; machine busy "
              f"{machine / posts.seconds / (os.cpu_count() or 1):.0%}", flush=True)
        return baseline, posts
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15, help="measured seconds of POSTs per database")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--stored", type=int, default=20_000, help="orders in the database before the run")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", help="a PostgreSQL server to use instead of a throwaway one")
    parser.add_argument("--workers", type=int, default=1, help="server processes (cityline serve --workers)")
    parser.add_argument("--rate", type=float, help="orders per second sent on a fixed schedule (an open loop), "
                                                   "latency from each one's scheduled instant, instead of --clients")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--synchronous", default="FULL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.synchronous, args.workers)
        return
    print(f"cores {os.cpu_count()}, load average at start {os.getloadavg()[0]:.2f}, "
          f"server processes {args.workers}", flush=True)
    results: dict[str, tuple[Run, Run]] = {}
    commits: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in args.backends:
            commits = {mode: commit_cost(Path(tmp), mode) for mode in ("FULL", "NORMAL")}
        for backend in args.backends.split(","):
            if backend == "sqlite":
                # Each mode twice, in the order FULL NORMAL NORMAL FULL, half the time each: the
                # machine's load drifts, and the two modes should see the same drift.
                tokens = {mode: prepare(f"sqlite:///{Path(tmp) / f'{mode}.db'}", args.stored)
                          for mode in ("FULL", "NORMAL")}
                half = argparse.Namespace(**{**vars(args), "seconds": args.seconds / 2})
                for mode in ("FULL", "NORMAL", "NORMAL", "FULL"):
                    baseline, posts = measure(f"SQLite {mode}", f"sqlite:///{Path(tmp) / f'{mode}.db'}",
                                              tokens[mode], half, mode)
                    label = f"SQLite synchronous={mode}"
                    if label in results:
                        baseline, posts = results[label][0].merge(baseline), results[label][1].merge(posts)
                    results[label] = (baseline, posts)
                continue
            pg = None
            if not args.postgres_url:
                pg = ThrowawayPostgres(durable=True)
                server_url = pg.start()
            try:
                url = create_database(args.postgres_url or server_url, "cityline_bench_post")
                token = prepare(url, args.stored)
                results["PostgreSQL"] = measure("PostgreSQL", url, token, args)
            finally:
                if pg:
                    pg.stop()
    load = (f"orders sent at {args.rate:g}/s on a fixed schedule (latency from each one's scheduled instant; "
            f"target: POST p99 ≤ {TARGET_P99_MS_AT_RATE} ms)" if args.rate
            else f"{args.clients} clients at once (target: POST p99 ≤ {TARGET_P99_MS} ms)")
    print(f"\n{load}, {args.stored:,} orders stored; latency in ms")
    print(f"{'database':<28}{'request':<18}{'count':>7}{'p50':>8}{'p95':>8}{'p99':>8}{'per s':>8}{'failed':>8}")
    for label, (baseline, posts) in results.items():
        for name, run in (("GET /healthz", baseline), ("POST /api/orders", posts)):
            print(f"{label:<28}{name:<18}{len(run.latencies):>7}{run.p(50):>8.1f}{run.p(95):>8.1f}{run.p(99):>8.1f}"
                  f"{run.rate:>8.1f}{len(run.errors):>8}")
    print("\nratio POST/baseline (how much recording an order adds to an answer)")
    for label, (baseline, posts) in results.items():
        print(f"  {label:<28}" + "  ".join(f"p{q} {posts.p(q) / baseline.p(q):.1f}×" for q in (50, 95, 99)))
    if "SQLite synchronous=FULL" in results and "SQLite synchronous=NORMAL" in results:
        full, normal = results["SQLite synchronous=FULL"][1], results["SQLite synchronous=NORMAL"][1]
        print(f"\ndurability on SQLite, FULL/NORMAL: p50 {full.p(50) / normal.p(50):.2f}×, "
              f"p99 {full.p(99) / normal.p(99):.2f}×, orders/s {full.rate / normal.rate:.2f}×; "
              f"a bare one-row commit {commits['FULL']:.3f} vs {commits['NORMAL']:.3f} ms")


if __name__ == "__main__":
    main()
