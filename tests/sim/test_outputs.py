"""What the simulator writes: order files, the unit tree, its truth, and the command."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date

import pytest
from typer.testing import CliRunner

from cityline.sim import (
    COLUMNS,
    generate,
    read_truth_orders,
    units_rows,
    write_orders,
    write_truth,
    write_units_csv,
)
from cityline.sim.cli import app

DAYS = {"start": date(2020, 2, 8), "end": date(2020, 2, 12)}


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return list(generate("2020", scale=0.02, seed=2, **DAYS))


def test_jsonl_round_trip(rows, tmp_path):
    path = tmp_path / "orders.jsonl"
    assert write_orders(rows, path) == len(rows)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == rows
    assert "市民" in path.read_text(encoding="utf-8")  # UTF-8, not \\u escapes


def test_csv_has_the_import_columns_and_semicolon_groups(rows, tmp_path):
    path = tmp_path / "orders.csv"
    write_orders(rows, path)
    with path.open(encoding="utf-8", newline="") as handle:
        read = list(csv.DictReader(handle))
    assert len(read) == len(rows)
    assert tuple(read[0])[: len(COLUMNS)] == COLUMNS
    for original, row in zip(rows, read, strict=True):
        assert row["text"] == original["text"]
        assert row["special_groups"] == ";".join(original["special_groups"])
        assert row["closed_at"] == (original["closed_at"] or "")


def test_unknown_file_type_is_refused(rows, tmp_path):
    with pytest.raises(ValueError, match=r"\.jsonl or \.csv"):
        write_orders(rows, tmp_path / "orders.xml")


def test_unit_tree(tmp_path):
    units = units_rows()
    kinds = Counter(u["kind"] for u in units)
    codes = {u["code"] for u in units}
    assert len(codes) == len(units)
    assert kinds["centre"] == 17 and kinds["street_office"] > 200 and kinds["department"] >= 10
    for unit in units:
        assert unit["code"].isascii() and len(unit["code"]) <= 8
        assert unit["parent_code"] in codes or unit["code"] == "SH"
        if unit["kind"] == "street_office":
            parent = next(u for u in units if u["code"] == unit["parent_code"])
            assert parent["district"] == unit["district"] and unit["street"]
    path = tmp_path / "units.csv"
    assert write_units_csv(path) == len(units)
    with path.open(encoding="utf-8") as handle:
        header = handle.readline().strip()
    assert header == "code,name,parent_code,kind,district,street"


def test_truth_matches_the_generated_orders(rows, tmp_path):
    path = tmp_path / "truth.json"
    write_truth(path, "2020", scale=0.02, seed=2, **DAYS)
    truth = json.loads(path.read_text(encoding="utf-8"))
    mapping = read_truth_orders(path)
    assert list(mapping) == [r["external_id"] for r in rows]
    for row in rows:
        problem = truth["problems"][mapping[row["external_id"]]]
        assert problem["category"] == row["category"]
    for day, counts in truth["daily"].items():
        prefix = f"S2020-{day.replace('-', '')}-"
        assert Counter(p for i, p in mapping.items() if i.startswith(prefix)) == Counter(counts)
        assert sum(counts.values()) == truth["daily_totals"][day]["received"]


def test_truth_names_the_signals_and_their_places(rows, tmp_path):
    path = tmp_path / "truth.json"
    write_truth(path, "2020", scale=0.02, seed=2, **DAYS)
    signals = {s["problem"]: s for s in json.loads(path.read_text(encoding="utf-8"))["signals"]}
    landlord = signals["work.sublandlord"]
    assert landlord["start"] == "2020-02-09" and landlord["category"] == "EPI.WORK"
    assert landlord["places"] and all(p["district"] and p["street"] for p in landlord["places"])
    places = {(p["district"], p["street"]) for p in landlord["places"]}
    mapping = read_truth_orders(path)
    placed = [(r["district"], r["street"]) for r in rows
              if mapping[r["external_id"]] == "work.sublandlord" and r["district"]]
    assert sum(p in places for p in placed) > 0.4 * len(placed)


def test_command_writes_orders_truth_and_units(tmp_path):
    out, truth, units = tmp_path / "o.jsonl", tmp_path / "t.json", tmp_path / "u.csv"
    result = CliRunner().invoke(app, [
        "generate", "--scenario", "2022", "--scale", "0.01", "--seed", "3", "--out", str(out),
        "--truth", str(truth), "--units", str(units), "--start", "2022-04-01",
        "--end", "2022-04-02",
    ])
    assert result.exit_code == 0, result.output
    orders = out.read_text(encoding="utf-8").splitlines()
    assert len(orders) > 500 and "orders ->" in result.output
    assert json.loads(truth.read_text(encoding="utf-8"))["scenario"] == "2022"
    assert units.exists()


def test_command_refuses_a_bad_date(tmp_path):
    result = CliRunner().invoke(app, ["generate", "--start", "2020-02-30",
                                      "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code != 0
    assert "not a date" in result.output
