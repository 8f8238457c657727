"""The covasim bridge: the pure mapping from a snapshot's arrays to §6 rows, held to the pure §7
rules on a hand-made snapshot (no covasim needed), and — slow — the command end to end with
covasim, its figures against covasim's own layers and infection log."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pytest
from typer.testing import CliRunner

from cityline.epidemic.contacts import tier1_contacts
from cityline.epidemic.rules import CaseRecord, Params, Person, Scan, Trip, visits
from cityline.sim.cli import app
from cityline.sim.covasim_bridge import (
    Snapshot,
    bridge,
    figures,
    households,
    write_bridge,
)

PARAMS = Params()


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def snapshot(agents: int = 80, days: int = 12, seed: int = 5) -> Snapshot:
    """A small world of random layers like covasim's hybrid ones, with an infection log whose
    every transmission runs along an edge of its layer."""
    rng = np.random.default_rng(seed)
    homes = np.repeat(np.arange(agents // 4 + 1), 4)[:agents]
    h = [(a, b) for a in range(agents) for b in range(a + 1, agents) if homes[a] == homes[b]]
    layers = {"h": (np.array([a for a, _ in h]), np.array([b for _, b in h]))}
    for key, count in (("s", 40), ("w", 90), ("c", 200)):
        layers[key] = (rng.integers(0, agents, count), rng.integers(0, agents, count))
    infectious = np.where(rng.random(agents) < 0.4, rng.integers(0, days + 3, agents), np.nan).astype(float)
    symptomatic = np.where(rng.random(agents) < 0.5, infectious + 1, np.nan)
    source, target, day, layer = [], [], [], []
    for key in ("h", "w", "c"):
        p1, p2 = layers[key]
        for a, b in list(zip(p1.tolist(), p2.tolist(), strict=True))[:15]:
            if a != b:
                source.append(a), target.append(b), day.append(3), layer.append(key)
    return Snapshot(agents=agents, days=days, seed=seed, age=rng.integers(0, 90, agents).astype(float),
                    layers=layers, source=np.array(source), target=np.array(target), day=np.array(day),
                    layer=np.array(layer, dtype=object), date_infectious=infectious,
                    date_symptomatic=symptomatic, version="hand-made")


def rows(table) -> list[dict]:
    return table.to_pylist()


def test_households_are_the_clusters_of_the_household_layer():
    # 0-1-2 a chain (one household), 3 alone, 4-5, 6-7 joined late through 7-5
    p1, p2 = np.array([0, 1, 4, 6, 7]), np.array([1, 2, 5, 7, 5])
    assert households(8, p1, p2).tolist() == [0, 0, 0, 1, 2, 2, 2, 2]
    assert households(3, np.array([], dtype=int), np.array([], dtype=int)).tolist() == [0, 1, 2]


def test_the_rules_find_exactly_the_truth_on_the_bridged_files():
    """Every case's contacts as the pure §7 rules find them in the bridged rows equal the truth:
    household members, the ends of its s/w/c edges (a venue of their own each), fellow
    travellers inside its window — and nobody else."""
    snap = snapshot()
    made = bridge(snap)
    residents = [Person(r["person_id"], r["district"], r["street"], r["compound"], r["building"], None,
                        r["room"], r["household_id"]) for r in rows(made.tables["residents"])]
    scans = [Scan(r["person_id"], r["venue_code"], _when(r["scanned_at"]), _when(r["left_at"]), r["venue_kind"])
             for r in rows(made.tables["scans"])]
    trips = [Trip(r["person_id"], r["mode"], _when(r["arrived_at"]), r["from_area"], r["trip_no"],
                  _when(r["departed_at"]), r["carriage"], r["seat"]) for r in rows(made.tables["trips"])]
    all_visits = visits(scans, PARAMS)
    found: dict[int, set[int]] = {}
    for row in rows(made.tables["cases"]):
        case = CaseRecord(row["person_id"], _when(row["reported_at"]), _when(row["onset_at"]), _when(row["sampled_at"]))
        contacts = tier1_contacts(case, residents=residents, visits=all_visits, trips=trips, params=PARAMS)
        found[int(case.person_id[2:])] = {int(c.person[2:]) for c in contacts}
    assert found.keys() == made.truth.keys() and len(found) > 10
    assert sum(len(t) for t in made.truth.values()) > 100
    assert any(len(members) >= 2 for _, members in made.groups)
    result = figures(found, made.truth, made.infected)
    assert (result["precision"], result["recall"], result["infections_share"]) == (1.0, 1.0, 1.0), result
    assert result["infections"] > 0


def test_cases_are_sampled_the_first_infectious_day_and_reported_the_next():
    snap = snapshot()
    made = bridge(snap)
    by_agent = {int(r["person_id"][2:]): r for r in rows(made.tables["cases"])}
    infectious = np.flatnonzero(np.isfinite(snap.date_infectious) & (snap.date_infectious < snap.days))
    assert sorted(by_agent) == infectious.tolist()
    agent = next(a for a in infectious.tolist() if np.isfinite(snap.date_symptomatic[a])
                 and snap.date_symptomatic[a] < snap.days)
    day = int(snap.date_infectious[agent])
    row = by_agent[agent]
    assert row["sampled_at"] == f"2022-03-{1 + day:02d}T09:00:00+08:00"
    assert row["reported_at"] == f"2022-03-{2 + day:02d}T18:00:00+08:00"
    assert row["onset_at"] == f"2022-03-{2 + day:02d}T08:00:00+08:00" and row["kind"] == "confirmed"
    silent = next(a for a in infectious.tolist() if not np.isfinite(snap.date_symptomatic[a]))
    assert by_agent[silent]["onset_at"] is None and by_agent[silent]["kind"] == "asymptomatic"


def test_truth_files_hold_every_edge_and_the_infection_log(tmp_path):
    snap = snapshot()
    made = bridge(snap)
    written = write_bridge(snap, made, tmp_path)
    assert {k: n for k, (_, n) in written.items()}["residents"] == snap.agents
    edges = (tmp_path / "truth_edges.csv").read_text(encoding="utf-8").splitlines()
    expected = sum(len(p1) for p1, _ in snap.layers.values()) + sum(
        len(m) * (len(m) - 1) // 2 for _, m in made.groups)
    assert len(edges) - 1 == expected
    log = (tmp_path / "truth_infections.csv").read_text(encoding="utf-8").splitlines()
    assert len(log) - 1 == len(snap.source)
    assert json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))["cases"] == len(made.cases)


def test_figures_count_every_miss_and_every_stranger():
    truth = {1: {2, 3, 4, 5}, 6: {7}}
    found = {1: {2, 3, 9}, 6: set()}
    result = figures(found, truth, {1: [2, 4], 6: [7]})
    assert result["precision"] == pytest.approx(2 / 3)
    assert result["recall"] == pytest.approx(2 / 5)
    assert result["infections_share"] == pytest.approx(1 / 3)


@pytest.mark.slow
def test_the_command_finds_covasims_contacts_and_infections(tmp_path):
    """covasim run, bridged, imported into a new database and traced: precision, recall and the
    share of infections found each at least 0.95."""
    result = CliRunner().invoke(app, ["covasim", "--agents", "600", "--days", "15", "--seed", "2",
                                      "--out", str(tmp_path), "--report", "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["cases"] > 50 and found["infections"] > 50 and found["contacts_true"] > 1000, found
    # the cases are the agents that transmitted: every transmission of the log has its case
    assert found["infections"] == found["transmissions"], found
    assert found["precision"] >= 0.95 and found["recall"] >= 0.95 and found["infections_share"] >= 0.95, found
    assert (tmp_path / "truth_edges.csv").exists() and (tmp_path / "truth_infections.csv").exists()
