"""An epidemic import killed mid-file (SIGKILL, a real process) finishes when run again: every
resident stored once, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from cityline.db import make_engine, make_sessionmaker
from cityline.epidemic.models import Resident
from cityline.schema import upgrade
from tests.intake.test_import_hostile import database_url, kill_once_stored, stored

RESIDENTS = 4001  # three batches of the importer's 2000: the kill comes in the second


def write_residents(path, count: int):
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["person_id", "name", "phone", "district", "street", "compound", "building", "room"])
        for i in range(count):
            writer.writerow([f"P{i:05d}", f"居民{i}", f"139{i:08d}", "静安区", "曹家渡街道", f"小区{i % 40}",
                             f"{i % 10}号楼", f"{i % 300}"])
    return path


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
        assert partial == 2000  # whole batches only

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
