"""Epidemic imports always finish: a row the database refuses is named and the rest go in, and
an import killed mid-file (SIGKILL, a real process) finishes when run again — every resident
stored once, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from cityline.db import make_engine, make_sessionmaker
from cityline.epidemic.importer import import_file
from cityline.epidemic.models import Resident
from cityline.schema import upgrade
from tests.intake.test_import_hostile import (
    MARKER,
    database_url,
    kill_once_stored,
    refusing_trigger,
    stored,
)

RESIDENTS = 4001  # three batches of the importer's 2000: the kill comes in the second


def write_residents(path, count: int):
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["person_id", "name", "phone", "district", "street", "compound", "building", "room"])
        for i in range(count):
            writer.writerow([f"P{i:05d}", f"居民{i}", f"139{i:08d}", "静安区", "曹家渡街道", f"小区{i % 40}",
                             f"{i % 10}号楼", f"{i % 300}"])
    return path


def test_a_resident_the_database_refuses_is_named_and_the_rest_go_in(sessions, env, tmp_path):
    path = write_residents(tmp_path / "residents.csv", 30)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[18] = lines[18].replace("小区", f"{MARKER}小区")  # row 19: the resident P00017
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with refusing_trigger(sessions, Resident.__tablename__, "compound"):
        report = import_file(sessions, env, "residents", path, actor="test", batch_size=8)
    assert (report.added, [(b.row, b.message) for b in report.bad]) == (
        29, [(19, "the database refused the row (refused by a test trigger)")])
    again = import_file(sessions, env, "residents", path, actor="test", batch_size=8)
    assert (again.added, again.unchanged, again.bad) == (1, 29, [])
    with sessions() as session:
        assert len(session.scalars(select(Resident.person_id)).all()) == 30


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_residents_import_killed_mid_file_finishes_when_run_again(database, tmp_path):
    url = database_url(database, tmp_path, "residents_killed")
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    env = {**os.environ, "CITYLINE_DATA_DIR": str(tmp_path / "data"), "CITYLINE_DATABASE_URL": url}
    path = write_residents(tmp_path / "residents.csv", RESIDENTS)
    command = [sys.executable, "-m", "cityline", "epidemic", "import", "residents", str(path), "--json"]

    try:
        partial = kill_once_stored(command, env, lambda: stored(sessions, Resident), 2000)
        assert partial in (2000, 4000)  # whole batches only

        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        report = json.loads(done.stdout)
        assert (report["read"], report["added"], report["unchanged"], report["bad"]) == (
            RESIDENTS, RESIDENTS - partial, partial, 0)
        with sessions() as session:
            ids = session.scalars(select(Resident.person_id)).all()
            masked = session.scalar(select(Resident.phone_masked).where(Resident.person_id == "P00042"))
        assert len(ids) == RESIDENTS and set(ids) == {f"P{i:05d}" for i in range(RESIDENTS)}
        assert masked == "139****0042"
    finally:
        engine.dispose()
