"""Benchmark ``scripts/run``: from a fresh clone to the demo's sign-in page answering.

Prints, each in wall-clock seconds and (for the demo) the CPU seconds its process used, so a
figure taken on a busy machine can still be compared:

* ``setup``: ``scripts/setup`` in a fresh clone with a new ``.venv`` (``--fresh-clone`` only;
  otherwise this checkout's ``.venv`` runs the demo and setup is not measured);
* ``serving``: ``cityline demo`` on an empty data directory until ``/login`` answers 200;
* ``finished``: until the demo says it has finished beside the server (``demo.finish``);
* ``reuse``: a second start on the same data directory until ``/login`` answers.

The goal (README, "Time to serving"): setup + serving within 60 s on the 2-core machine when
it is quiet. Run: ``python3 bench/bench_demo.py [--fresh-clone] [--scale 0.1]`` (standard
library only: a fresh clone has no test tools yet).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FINISHED = "demo finished:"  # what ``demo.Finishing`` prints when done


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a running process (Linux), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def run_demo(checkout: Path, data_dir: Path, scale: float, *, wait_finished: bool,
             timeout: float = 900) -> dict[str, float | None]:
    """Start ``cityline demo``; seconds (and CPU seconds) until it serves and, if asked, finishes."""
    port = free_port()
    env = {**os.environ, "CITYLINE_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    env.pop("CITYLINE_DATABASE_URL", None)
    began = time.perf_counter()
    demo = subprocess.Popen([str(checkout / ".venv/bin/cityline"), "demo", "--port", str(port), "--scale", str(scale)],
                            cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    finished = threading.Event()

    def read() -> None:
        assert demo.stdout is not None
        for line in demo.stdout:
            if line.startswith(FINISHED):
                finished.set()

    threading.Thread(target=read, daemon=True).start()
    figures: dict[str, float | None] = {}
    try:
        while not answers(f"http://127.0.0.1:{port}/login"):
            if demo.poll() is not None or time.perf_counter() - began > timeout:
                raise SystemExit(f"the demo did not serve (exit code {demo.returncode})")
            time.sleep(0.2)
        figures["serving"] = time.perf_counter() - began
        figures["serving_cpu"] = cpu_seconds(demo.pid)
        if wait_finished:
            if not finished.wait(timeout):
                raise SystemExit("the demo did not finish")
            figures["finished"] = time.perf_counter() - began
            figures["finished_cpu"] = cpu_seconds(demo.pid)
    finally:
        demo.terminate()
        demo.wait(30)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh-clone", action="store_true", help="clone this repository and time scripts/setup too")
    parser.add_argument("--scale", type=float, default=0.1, help="the demo's scale (default: the demo's own)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cityline-bench-demo-") as folder:
        checkout = REPO
        if args.fresh_clone:
            checkout = Path(folder) / "clone"  # what is committed
            subprocess.run(["git", "clone", "--quiet", str(REPO), str(checkout)], check=True)
            began = time.perf_counter()
            subprocess.run([str(checkout / "scripts/setup")], check=True)
            print(f"setup     {time.perf_counter() - began:6.1f} s  (scripts/setup, new .venv)")
        data_dir = Path(folder) / "data"
        first = run_demo(checkout, data_dir, args.scale, wait_finished=True)
        print(f"serving   {first['serving']:6.1f} s  ({first['serving_cpu'] or 0:.1f} s CPU): /login answers")
        print(f"finished  {first['finished']:6.1f} s  ({first['finished_cpu'] or 0:.1f} s CPU): demo.finish done")
        again = run_demo(checkout, data_dir, args.scale, wait_finished=False)
        print(f"reuse     {again['serving']:6.1f} s  ({again['serving_cpu'] or 0:.1f} s CPU): a second start serves")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", file=sys.stderr)


if __name__ == "__main__":
    main()
