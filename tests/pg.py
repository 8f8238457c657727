"""A throwaway PostgreSQL server for the test run (Debian's binaries; no mocks).

Started once per test run unless CITYLINE_TEST_POSTGRES_URL already names a
server. When the tests run as root, the server runs as the ``postgres`` user,
because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayPostgres:
    """``durable=False`` (the test run's shared server) gives up flushing to disk for speed;
    ``durable=True`` keeps PostgreSQL's defaults (fsync, synchronous_commit on), for the tests
    that stop the server under load and count what survived (tests/faults)."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        self.dir = Path(tempfile.mkdtemp(prefix="cityline-pg-"))
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            pwd.getpwnam("postgres")  # KeyError: install Debian's postgresql package
            shutil.chown(self.dir, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> str:
        initdb = _bin("initdb")
        if not initdb or not _bin("pg_ctl"):
            raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")
        data = self.dir / "data"
        run = dict(check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        subprocess.run([*self.as_user, initdb, "-D", str(data), "-U", "postgres", "--auth=trust",
                        "--encoding=UTF8", "--locale=C"], **run)
        self.resume()
        return self.url

    def resume(self) -> None:
        """Start the server (again, after :meth:`halt`) on the same data and port."""
        options = f"-p {self.port} -k {self.dir}"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run([*self.as_user, _bin("pg_ctl"), "-D", str(self.dir / "data"), "-o", options,
                        "-l", str(self.dir / "log"), "-w", "start"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def halt(self, mode: str = "immediate") -> None:
        """Stop the server, keeping its data: ``immediate`` is a crash (no checkpoint; what was
        committed is recovered from the WAL on the next start), ``fast`` a clean shutdown."""
        subprocess.run([*self.as_user, _bin("pg_ctl"), "-D", str(self.dir / "data"), "-m", mode, "-w", "stop"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self) -> None:
        subprocess.run([*self.as_user, _bin("pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """A fresh database on the server; returns its URL. Each of the test run's worker processes
    (pytest-xdist's ``-n``) gets databases of its own on the one server: the name ends with its id."""
    import psycopg

    name += os.environ.get("PYTEST_XDIST_WORKER", "")

    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def fresh_database(database: str, tmp_path, name: str) -> str:
    """The URL of an empty database of a test parametrized by ``database``: a SQLite file in
    ``tmp_path``, or a fresh database ``name`` on the test run's PostgreSQL server."""
    if database == "sqlite":
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    return create_database(os.environ["CITYLINE_TEST_POSTGRES_URL"], name)
