"""Ground truth from covasim: its people, contact layers and infection log as the files of
formats.md §6, and the truth to hold contact mining to.

covasim (``pip install -e ".[covasim]"``) is imported only by :func:`run_covasim`, so cityline
imports without it; everything else here is a pure mapping from the snapshot's arrays to §6
rows, testable on hand-made arrays.

How covasim's world becomes cityline's (day 0 = ``DAY_ZERO``, times local, Asia/Shanghai):

- **People** → residents ``CV000123`` with made-up names, ID numbers (of the agent's age) and
  phones. **Households** are the clusters of the ``h`` layer (its connected components:
  covasim 4 keeps no household id); each gets a ``household_id`` and a room of its own.
- **Schools (s), workplaces (w), community (c)**: ``pop_type='hybrid'`` makes these random
  graphs, not cliques, so a shared room would join people who are not connected. Each edge
  gets a venue of its own (a desk, a table: ``CV-W-000042``; kind ``workplace`` for s and w,
  ``other`` for c) where both people check in at the same minute and check out 30 minutes
  later, on day 0 and then every ``MEETING_EVERY`` days (``(day + edge) % MEETING_EVERY == 0``), at a
  time between 09:00 and 17:00 drawn from the edge number. Two people overlap at a venue
  exactly when they share an edge, so no timetable can be more exact; covasim's static layers
  are in effect every day, the meetings every third day are what a case's window sees.
- **Trips** (an extra layer ``t``, not covasim's): each day ``TRIP_SHARE`` of the agents travel
  by train in groups of 2–4, a group in a row of one carriage, groups 5 rows apart, 64 groups
  a service; so §7's trip rule (same train and day, same carriage, rows ≤ 2 apart) finds a
  group's own members and nobody else.
- **Cases**: every agent covasim makes infectious on a day of the run (run without waning
  immunity, so nobody is infected twice: covasim keeps one set of dates a person, and a
  reinfection would overwrite the first infection's). The positive sample is
  taken at 09:00 of the first infectious day (``date_infectious``: the daily screening of
  spring 2022), onset at 08:00 of ``date_symptomatic`` when covasim gives one within the run
  (``confirmed``; otherwise ``asymptomatic``), reported the next day at 18:00. So a window is
  ``[sample − 48 h, report]``: from 09:00 two days before the sample to 18:00 the day after,
  four whole meeting days.

**Truth** of a case (what precision and recall are measured against): the other ends of its
edges in ``h``, ``s``, ``w`` and ``c`` (covasim's layers are static, in effect every day of the
run, so every edge falls inside a window that lies in the run), plus its fellow travellers
(layer ``t``) on trips departing inside its window. **Infections** of a case: the targets of
covasim's log whose source is the case (seeds have none).
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from cityline.sim.epidemic import GIVEN, SURNAMES, _id_numbers, _seconds, stamps

DAY_ZERO = date(2022, 3, 1)
LAYERS = ("h", "s", "w", "c")  # covasim's hybrid layers; "t" (trips) is the bridge's own
VENUE_LAYERS = {"s": "workplace", "w": "workplace", "c": "other"}
MEETING_EVERY = 3  # days between two meetings of an edge
MEETING_MINUTES = 30
TRIP_SHARE = 0.003  # of the agents, each day
GROUPS_PER_SERVICE = 64  # 16 carriages × 4 groups, rows 1, 6, 11, 16
FILES = {"residents": "residents.csv", "scans": "scans.csv", "trips": "trips.csv", "cases": "cases.csv"}
KINDS_IN_ORDER = tuple(FILES)
HOUR = 3600


@dataclass
class Snapshot:
    """What the bridge takes from covasim: the layers before the run (edges vanish when agents
    die), the infection log and the dates after it. Days are covasim's (0 = the first day)."""

    agents: int
    days: int  # days simulated: covasim's n_days = D runs days 0 .. D, so D + 1
    seed: int
    age: np.ndarray  # years
    layers: dict[str, tuple[np.ndarray, np.ndarray]]  # layer -> (p1, p2), agent indices
    source: np.ndarray  # infection log: source agent (-1 for seeds)
    target: np.ndarray
    day: np.ndarray
    layer: np.ndarray  # of str: h, s, w, c, or "seed"
    date_infectious: np.ndarray  # float day, nan when never
    date_symptomatic: np.ndarray
    version: str = ""


def run_covasim(agents: int, days: int, seed: int) -> Snapshot:
    """Runs covasim (``pop_type='hybrid'``), the layers copied after initialisation and before
    the run."""
    with contextlib.redirect_stdout(sys.stderr):  # covasim greets on import; stdout is for --json
        import covasim as cv  # an optional extra: only this command needs it

        # without waning immunity nobody is infected twice, so covasim's dates (which a
        # reinfection overwrites) describe each agent's one infection, and one case a person holds
        sim = cv.Sim(pop_type="hybrid", pop_size=agents, n_days=days, rand_seed=seed, verbose=0,
                     use_waning=False)
        sim.init()
    layers = {key: (np.array(sim.networks[key].edges.p1, dtype=np.int64),
                    np.array(sim.networks[key].edges.p2, dtype=np.int64)) for key in LAYERS}
    age = np.array(sim.people.age.raw, dtype=float)[:agents]
    with contextlib.redirect_stdout(sys.stderr):
        sim.run()
    log = sim.diseases.covid.infection_log.to_df()
    people = sim.people
    return Snapshot(
        agents=agents, days=days + 1, seed=seed, age=age, layers=layers,
        source=log["source"].to_numpy(dtype=np.int64), target=log["target"].to_numpy(dtype=np.int64),
        day=log["day"].to_numpy(dtype=np.int64),
        layer=np.array([str(n) if n in LAYERS else "seed" for n in log["network"]], dtype=object),
        # by agent (``raw``): the plain arrays hold only the living, so a death shifts them
        date_infectious=np.array(people.date_infectious.raw, dtype=float)[:agents],
        date_symptomatic=np.array(people.date_symptomatic.raw, dtype=float)[:agents],
        version=cv.__version__)


# -- people and households ------------------------------------------------------------------------


def person_ids(agents: int) -> np.ndarray:
    return np.array([f"CV{i:06d}" for i in range(agents)], dtype=object)


def households(agents: int, p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """The household of each agent: the connected component of the ``h`` layer it lies in,
    numbered 0, 1, … in order of the component's lowest agent."""
    root = np.arange(agents)
    a, b = np.asarray(p1, dtype=np.int64), np.asarray(p2, dtype=np.int64)
    while True:  # hook each edge's larger root onto its smaller one, then flatten, until still
        low = np.minimum(root[a], root[b])
        np.minimum.at(root, root[a], low)
        np.minimum.at(root, root[b], low)
        while not np.array_equal(root, root[root]):
            root = root[root]
        if np.array_equal(root[a], root[b]):
            break
    return np.unique(root, return_inverse=True)[1]


def residents_table(snap: Snapshot, rng: np.random.Generator) -> pa.Table:
    """One present resident per agent, in a room of their household's own."""
    n = snap.agents
    home = households(n, *snap.layers["h"])
    pick = rng.integers(0, 2**31, size=(n, 3))
    surnames, given = np.array(list(SURNAMES), dtype=object), np.array(list(GIVEN), dtype=object)
    names = surnames[pick[:, 0] % len(surnames)] + given[pick[:, 1] % len(given)] + \
        np.where(pick[:, 1] % 3 > 0, given[pick[:, 2] % len(given)], "")
    born = DAY_ZERO.toordinal() - date(1970, 1, 1).toordinal() - np.floor(snap.age * 365.25).astype(np.int64)
    return pa.table({
        "person_id": pa.array(person_ids(n).tolist(), pa.string()),
        "name": pa.array(names.tolist(), pa.string()),
        "id_number": pa.array(_id_numbers(np.ones(n, dtype=np.int64), born, np.arange(n) % 1000).tolist(),
                              pa.string()),
        "phone": pa.array([f"139{i:08d}" for i in range(n)], pa.string()),
        "district": pa.array(["黄浦区"] * n, pa.string()),
        "street": pa.array(["南京东路街道"] * n, pa.string()),
        "compound": pa.array([f"仿真{h // 400 + 1}小区" for h in home.tolist()], pa.string()),
        "building": pa.array([f"{h // 20 % 20 + 1}号楼" for h in home.tolist()], pa.string()),
        "room": pa.array([f"{h % 20 // 4 + 1}0{h % 4 + 1}" for h in home.tolist()], pa.string()),
        "household_id": pa.array([f"CVH{h:06d}" for h in home.tolist()], pa.string()),
        "status": pa.array(["present"] * n, pa.string()),
    })


# -- scans: one venue per edge ------------------------------------------------------------------------


def meeting_seconds(edge: np.ndarray, days: int) -> tuple[np.ndarray, np.ndarray]:
    """The meetings of edges over ``days`` days: (edge index, start in local seconds since 1970).
    Every edge meets on day 0 (a window of a case infectious on day 0 sees only days 0 and 1),
    then on the days where ``(day + edge) % MEETING_EVERY == 0``."""
    edge = np.asarray(edge, dtype=np.int64)
    slot = edge * 7 % 17  # 09:00, 09:30, … 17:00
    edges, starts = [], []
    for day in range(days):
        meets = edge if day == 0 else edge[(day + edge) % MEETING_EVERY == 0]
        edges.append(meets)
        starts.append(_seconds(DAY_ZERO) + day * 86400 + 9 * HOUR + slot[meets] * 1800)
    return np.concatenate(edges), np.concatenate(starts)


def scans_table(snap: Snapshot) -> pa.Table:
    """Both ends of every s, w and c edge check in at the edge's own venue at its meetings."""
    ids = pa.array(person_ids(snap.agents).tolist(), pa.string())
    parts = []
    for key, kind in VENUE_LAYERS.items():
        p1, p2 = snap.layers[key]
        codes = pa.array([f"CV-{key.upper()}-{e:06d}" for e in range(len(p1))], pa.string())
        edge, start = meeting_seconds(np.arange(len(p1)), snap.days)
        for ends in (p1, p2):
            parts.append(pa.table({
                "person_id": ids.take(pa.array(ends[edge])),
                "venue_code": codes.take(pa.array(edge)),
                "scanned_at": stamps(start),
                "left_at": stamps(start + MEETING_MINUTES * 60),
                "venue_kind": pa.array([kind], pa.string()).take(pa.array(np.zeros(len(edge), dtype=np.int32))),
            }))
    return pa.concat_tables(parts)


# -- trips ----------------------------------------------------------------------------------------------


@dataclass
class Trips:
    table: pa.Table
    groups: list[tuple[int, list[int]]]  # (day, agents travelling together)


def trips_table(snap: Snapshot, rng: np.random.Generator) -> Trips:
    """Each day a few agents travel by train in groups of 2–4; see the module doc."""
    rows: dict[str, list[Any]] = {k: [] for k in ("person_id", "mode", "trip_no", "departed_at", "arrived_at",
                                                  "from_area", "to_area", "carriage", "seat")}
    groups: list[tuple[int, list[int]]] = []
    ids = person_ids(snap.agents)
    per_day = max(2, round(snap.agents * TRIP_SHARE))
    for day in range(snap.days):
        travellers = rng.permutation(snap.agents)[:per_day].tolist()
        sizes = []
        while sum(sizes) < len(travellers):
            sizes.append(int(rng.integers(2, 5)))
        sizes[-1] -= sum(sizes) - len(travellers)
        if sizes[-1] < 2 and len(sizes) > 1:  # nobody travels alone: join the group before
            alone = sizes.pop()
            sizes[-1] += alone
        at = 0
        midnight = _seconds(DAY_ZERO) + day * 86400
        for number, size in enumerate(sizes):
            members = travellers[at:at + size]
            at += size
            groups.append((day, members))
            service, place = divmod(number, GROUPS_PER_SERVICE)
            carriage, row = place % 16 + 1, 1 + 5 * (place // 16)
            for letter, agent in zip("ABCDF", members, strict=False):
                rows["person_id"].append(ids[agent])
                rows["mode"].append("train")
                rows["trip_no"].append(f"G{7001 + day * 10 + service}")
                rows["departed_at"].append(midnight + 10 * HOUR)
                rows["arrived_at"].append(midnight + 13 * HOUR)
                rows["from_area"].append("江苏省南京市")
                rows["to_area"].append("上海市")
                rows["carriage"].append(f"{carriage:02d}")
                rows["seat"].append(f"{row}{letter}")
    table = pa.table({k: stamps(np.array(v, dtype=np.int64)) if k.endswith("_at") else pa.array(v, pa.string())
                      for k, v in rows.items()})
    return Trips(table, groups)


# -- cases ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    agent: int
    sampled: int  # local seconds since 1970
    onset: int | None
    reported: int

    @property
    def window(self) -> tuple[int, int]:
        """[T0 − 48 h, report] in local seconds (§7 with its default 48 hours)."""
        first = min(t for t in (self.sampled, self.onset) if t is not None)
        return first - 48 * HOUR, self.reported


def cases_of(snap: Snapshot) -> list[Case]:
    """Every agent infectious on a day of the run; times as the module doc says."""
    midnight = _seconds(DAY_ZERO)
    found = []
    for agent in np.flatnonzero(np.isfinite(snap.date_infectious) & (snap.date_infectious < snap.days)).tolist():
        day = int(snap.date_infectious[agent])
        symptomatic = snap.date_symptomatic[agent]
        onset = (midnight + int(symptomatic) * 86400 + 8 * HOUR
                 if np.isfinite(symptomatic) and symptomatic < snap.days else None)
        found.append(Case(agent, midnight + day * 86400 + 9 * HOUR, onset, midnight + (day + 1) * 86400 + 18 * HOUR))
    return found


def cases_table(snap: Snapshot, cases: list[Case]) -> pa.Table:
    ids = person_ids(snap.agents)
    onset = np.array([c.onset or 0 for c in cases], dtype=np.int64)
    return pa.table({
        "person_id": pa.array([ids[c.agent] for c in cases], pa.string()),
        "reported_at": stamps(np.array([c.reported for c in cases], dtype=np.int64)),
        "onset_at": stamps(onset, np.array([c.onset is not None for c in cases], dtype=bool)),
        "sampled_at": stamps(np.array([c.sampled for c in cases], dtype=np.int64)),
        "kind": pa.array(["confirmed" if c.onset is not None else "asymptomatic" for c in cases], pa.string()),
    })


# -- truth ------------------------------------------------------------------------------------------------


def truth_contacts(snap: Snapshot, cases: list[Case], groups: list[tuple[int, list[int]]]) -> dict[int, set[int]]:
    """Case agent → the agents it should be found in contact with (module doc: h, s, w, c edges
    when its window meets the run, and fellow travellers on trips departing inside it)."""
    partners: dict[int, set[int]] = {c.agent: set() for c in cases}
    run = (_seconds(DAY_ZERO), _seconds(DAY_ZERO) + snap.days * 86400)
    in_run = {c.agent for c in cases if c.window[0] < run[1] and c.window[1] > run[0]}
    for key in LAYERS:
        for a, b in zip(*snap.layers[key], strict=True):
            a, b = int(a), int(b)
            if a in in_run and a != b:
                partners[a].add(b)
            if b in in_run and a != b:
                partners[b].add(a)
    windows = {c.agent: c.window for c in cases}
    for day, members in groups:
        departed = _seconds(DAY_ZERO) + day * 86400 + 10 * HOUR
        for agent in members:
            if agent in windows and windows[agent][0] <= departed <= windows[agent][1]:
                partners[agent].update(m for m in members if m != agent)
    return partners


def infections_by_case(snap: Snapshot, cases: list[Case]) -> dict[int, list[int]]:
    """Case agent → the agents covasim's log says it infected."""
    mine: dict[int, list[int]] = {c.agent: [] for c in cases}
    for source, target in zip(snap.source.tolist(), snap.target.tolist(), strict=True):
        if source in mine:
            mine[source].append(target)
    return mine


def figures(found: dict[int, set[int]], truth: dict[int, set[int]], infected: dict[int, list[int]]) -> dict[str, Any]:
    """Precision and recall of the contacts found against the truth, pooled over every (case,
    person) pair, and the share of the cases' infections whose target was found."""
    hits = sum(len(found.get(c, set()) & truth[c]) for c in truth)
    reported = sum(len(found.get(c, set())) for c in truth)
    expected = sum(len(t) for t in truth.values())
    infections = sum(len(t) for t in infected.values())
    caught = sum(1 for c, targets in infected.items() for t in targets if t in found.get(c, set()))
    return {"cases": len(truth), "contacts_found": reported, "contacts_true": expected, "true_found": hits,
            "precision": hits / reported if reported else 1.0, "recall": hits / expected if expected else 1.0,
            "infections": infections, "infections_found": caught,
            "infections_share": caught / infections if infections else 1.0}


# -- writing --------------------------------------------------------------------------------------------


@dataclass
class Bridge:
    """The §6 tables and the truth of one snapshot."""

    tables: dict[str, pa.Table]
    cases: list[Case]
    truth: dict[int, set[int]]
    infected: dict[int, list[int]]
    groups: list[tuple[int, list[int]]]
    transmissions: int  # in covasim's log, seeds left out


def bridge(snap: Snapshot) -> Bridge:
    rng = np.random.default_rng([snap.seed, 16])
    trips = trips_table(snap, rng)
    cases = cases_of(snap)
    tables = {"residents": residents_table(snap, rng), "scans": scans_table(snap), "trips": trips.table,
              "cases": cases_table(snap, cases)}
    return Bridge(tables, cases, truth_contacts(snap, cases, trips.groups), infections_by_case(snap, cases),
                  trips.groups, int((snap.source >= 0).sum()))


def write_bridge(snap: Snapshot, made: Bridge, folder: str | Path) -> dict[str, tuple[Path, int]]:
    """The four §6 files, ``truth_edges.csv`` (layer, person_a, person_b; trips with their day),
    ``truth_infections.csv`` (covasim's log) and ``truth.json`` (the run and the mapping)."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written = {}
    for kind, table in made.tables.items():
        path = target / FILES[kind]
        pacsv.write_csv(table, path)
        written[kind] = (path, table.num_rows)
    ids = person_ids(snap.agents)
    layer, a, b, day = [], [], [], []
    for key in LAYERS:
        p1, p2 = snap.layers[key]
        layer += [key] * len(p1)
        a += ids[p1].tolist()
        b += ids[p2].tolist()
        day += [None] * len(p1)
    for when, members in made.groups:
        for i, first in enumerate(members):
            for second in members[i + 1:]:
                layer.append("t")
                a.append(ids[first])
                b.append(ids[second])
                day.append(DAY_ZERO.toordinal() + when - date(1970, 1, 1).toordinal())
    edges = pa.table({"layer": pa.array(layer, pa.string()), "person_a": pa.array(a, pa.string()),
                      "person_b": pa.array(b, pa.string()),
                      "trip_date": pa.array(day, pa.int32()).cast(pa.date32())})
    pacsv.write_csv(edges, target / "truth_edges.csv")
    known = snap.source >= 0
    log = pa.table({"source": pa.array(np.where(known, ids[np.where(known, snap.source, 0)], None).tolist(),
                                       pa.string()),
                    "target": pa.array(ids[snap.target].tolist(), pa.string()),
                    "day": pa.array(snap.day.tolist(), pa.int64()),
                    "layer": pa.array(snap.layer.tolist(), pa.string())})
    pacsv.write_csv(log, target / "truth_infections.csv")
    (target / "truth.json").write_text(json.dumps({
        "covasim": snap.version, "pop_type": "hybrid", "agents": snap.agents, "days": snap.days,
        "seed": snap.seed, "day_zero": DAY_ZERO.isoformat(), "meeting_every_days": MEETING_EVERY,
        "meeting_minutes": MEETING_MINUTES, "trip_share": TRIP_SHARE, "cases": len(made.cases),
        "edges": {k: int(len(snap.layers[k][0])) for k in LAYERS},
        "trip_groups": len(made.groups), "infections": int(len(snap.source)),
    }, ensure_ascii=False, indent=1), encoding="utf-8")
    return written
