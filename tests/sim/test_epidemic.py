"""The simulator's epidemic data: files the epidemic importer takes whole, the callers of the
orders in the ledger, and the structure the epidemic pages need (untested buildings, sealed
zones, arrivals from risk areas)."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cityline.config import Settings
from cityline.db import read_transaction
from cityline.epidemic import service
from cityline.epidemic.importer import import_file
from cityline.sim import generate
from cityline.sim.cli import app
from cityline.sim.epidemic import FILES, KINDS_IN_ORDER, simulate_epidemic, write_epidemic
from cityline.sim.places import street_table

# Three weeks of the lockdown at a small scale: about 1,400 orders, some 2,700 residents.
ARGS = {"scenario": "2022", "scale": 0.001, "seed": 3, "start": date(2022, 3, 28), "end": date(2022, 4, 17)}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, tuple[Path, int]]:
    return write_epidemic(tmp_path_factory.mktemp("epidemic"), **ARGS)


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_files_import_whole_and_a_second_import_adds_nothing(files, sessions, vault, tmp_path):
    env = service.env_for(vault, Settings(data_dir=tmp_path / "data"))
    for kind in KINDS_IN_ORDER:
        path, count = files[kind]
        report = import_file(sessions, env, kind, path, actor="test")
        assert report.bad == [], (kind, report.as_dict()["bad_rows"][:3])
        assert (report.read, report.added, report.repeated_in_file) == (count, count, 0), report.summary()
    for kind in KINDS_IN_ORDER:
        again = import_file(sessions, env, kind, files[kind][0], actor="test")
        assert (again.added, again.updated, again.unchanged) == (0, 0, files[kind][1]), again.summary()

    cases = rows_of(files["cases"][0])
    busiest = Counter(datetime.fromisoformat(c["reported_at"]).date() for c in cases).most_common(1)[0][0]
    with read_transaction(sessions) as session:
        zones = service.compute_zones(session, env, busiest)
        covered = service.coverage(session, env, ARGS["start"], ARGS["end"], untested=True)
        arrivals = [a for day in (ARGS["start"] + timedelta(days=n) for n in range(0, 21, 10))
                    for a in service.risk_arrivals(session, env, day)]
    levels = Counter(z.level for z in zones)
    assert levels["sealed"] >= 1 and levels["controlled"] + levels["precaution"] >= 1, levels
    assert any(z.level == "sealed" and z.population > 0 for z in zones)
    present = sum(r.present for r in covered.rows)
    tested = sum(r.tested for r in covered.rows)
    assert 0.5 * present < tested < present
    # not only a lone refuser: whole households in buildings that hardly test
    assert any(r.tested == 0 and r.present >= 3 for r in covered.rows), "some buildings test nobody"
    assert any(r.tested / r.present < 0.6 for r in covered.rows if r.present >= 5), "some test poorly"
    assert len(covered.untested) == present - tested
    assert arrivals and {a.level for a in arrivals} <= {"medium", "high"}


def test_the_callers_of_the_orders_live_in_the_ledger(files):
    residents = rows_of(files["residents"][0])
    by_phone = {r["phone"]: r for r in residents if r["phone"]}
    compounds = street_table().compounds
    streets = street_table()
    first_home: dict[str, dict] = {}
    for order in generate(**ARGS):
        day = date.fromisoformat(order["received_at"][:10])
        if not order["caller_phone"] or not order["street"] or day.year != 2022:
            continue
        names = compounds[streets.index(order["district"], order["street"])]
        said = (order["address"] or "").replace(order["street"], "")
        if any(name in said for name in names):
            first_home.setdefault(order["caller_phone"], order)
    assert len(first_home) > 300
    missing = sum(phone not in by_phone for phone in first_home)
    assert missing == 0, "callers missing from the ledger"
    for phone, order in first_home.items():
        home = by_phone[phone]
        assert (home["district"], home["street"]) == (order["district"], order["street"])
        assert home["compound"] in order["address"]
        if "号楼" in order["address"] or "室" in order["address"]:
            assert home["building"].removesuffix("号楼") + "号" in order["address"]
        if "室" in order["address"]:
            assert home["room"] + "室" in order["address"]
        assert home["status"] == "present"


def test_the_same_seed_writes_the_same_data_and_another_seed_other_data():
    first, again = simulate_epidemic(**ARGS), simulate_epidemic(**ARGS)
    assert all(first[kind].equals(again[kind]) for kind in FILES)
    other = simulate_epidemic(**{**ARGS, "seed": 4})
    assert not other["tests"].equals(first["tests"])
    assert not other["residents"].equals(first["residents"])


def test_the_data_have_the_shape_of_the_wave(files):
    tests = rows_of(files["tests"][0])
    results = Counter(t["result"] for t in tests)
    assert results["negative"] > 10 * results["positive"] > 0 and results["pending"] > 0
    assert {t["kind"] for t in tests} == {"pcr", "antigen"}
    cases = rows_of(files["cases"][0])
    positives = {t["person_id"] for t in tests if t["result"] == "positive"}
    assert {c["person_id"] for c in cases} == positives
    by_week = Counter(datetime.fromisoformat(c["reported_at"]).date() >= date(2022, 4, 5) for c in cases)
    assert by_week[True] > by_week[False]  # the curve rises into April
    scans = rows_of(files["scans"][0])
    assert {"restaurant", "workplace", "shop"} <= {s["venue_kind"] for s in scans}
    assert any(s["left_at"] for s in scans)
    trips = rows_of(files["trips"][0])
    assert {"train", "flight"} <= {t["mode"] for t in trips}
    shared = Counter((t["trip_no"], t["departed_at"][:10]) for t in trips)
    assert max(shared.values()) > 1  # fellow travellers
    assert any(t["person_id"].startswith("V") for t in trips)  # visitors not in the ledger


def test_the_command_writes_the_epidemic_files_beside_the_orders(tmp_path):
    result = CliRunner().invoke(app, [
        "generate", "--scenario", "2022", "--scale", "0.0005", "--start", "2022-04-01", "--end", "2022-04-07",
        "--out", str(tmp_path / "orders.jsonl"), "--epidemic", str(tmp_path / "epidemic")])
    assert result.exit_code == 0, result.output
    for kind, name in FILES.items():
        assert (tmp_path / "epidemic" / name).exists()
        assert f" {kind} -> " in result.output
    refused = CliRunner().invoke(app, ["generate", "--scenario", "2020", "--scale", "0.001", "--out",
                                       str(tmp_path / "o.jsonl"), "--epidemic", str(tmp_path / "e")])
    assert refused.exit_code != 0 and "no epidemic data" in refused.output
