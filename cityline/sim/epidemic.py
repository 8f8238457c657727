"""Epidemic data beside the orders: residents, tests, scans, trips, cases and risk areas.

``write_epidemic(folder, "2022", scale=0.05, seed=1)`` writes the six files of formats.md
§6 (``residents.csv`` … ``risk_areas.csv``) for the scenario's wave, ready for
``cityline epidemic import KIND FILE``. Same arguments, same files. The numbers come
from the ``[epidemic]`` table of ``data/scenario_2022.toml``; every count is per
resident of the ledger, which grows with the scale (below about 0.05 more slowly than
the orders, because the callers' households are most of it: see the README).

How the city is made, step by step (each step from its own random stream):

- **The ledger.** Every caller of the scenario's orders whose address names a home
  (a compound: ``places.RESIDENTIAL_FORMS``) lives there with a household, under
  the phone of their first such order (the simulator reuses a small pool of
  numbers, so a number's later orders may come from elsewhere). Besides them, whole
  buildings — 10 to 40 households in one to three stair units — drawn by street
  population from the same gazetteer (``places.street_table``) the orders use.
  Grids are a street office's compounds in fours.
- **Trips** into the city, by train (carriages, seats), plane (seats) and coach,
  several travellers to a service, residents coming home and visitors; a quarter of
  the services start in a medium or high risk area while it is one.
- **Cases** follow the scenario's published curve of daily cases per person of the
  city, mostly in buildings that already have one (outbreaks in a building seal it),
  plus a few travellers from risk areas a few days after they arrive.
- **Tests**: mass rounds (PCR, antigen) in which a typical building tests most of its
  present people and some buildings far fewer or none; daily PCR in buildings with a
  recent case; each case's positive sample; results of the last day still pending.
- **Scans** at the venues of each street (restaurants at meal times, workplaces in the
  morning with a check-out in the evening, shops …), fewer under lockdown.
- **Risk areas** as listed in the scenario.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from cityline.sim.catalogue import read_data
from cityline.sim.context import Context, build_context
from cityline.sim.draws import day_core, day_draws
from cityline.sim.generate import caller_phones
from cityline.sim.places import RESIDENTIAL_FORMS, address_forms, home_parts, street_table
from cityline.sim.scenarios import SCENARIOS, Curve
from cityline.sim.units import street_office_codes

# The file of each kind, as ``cityline epidemic import KIND FILE`` takes them.
FILES = {"residents": "residents.csv", "tests": "tests.csv", "scans": "scans.csv", "trips": "trips.csv",
         "cases": "cases.csv", "risk-areas": "risk_areas.csv"}
KINDS_IN_ORDER = tuple(FILES)  # residents first, so the others find their people

HOUSEHOLD_SIZES = (0.22, 0.33, 0.25, 0.14, 0.06)  # chance of 1, 2, … 5 people
# Buildings: share tested like a typical one, poorly (some of the round), hardly ever.
BUILDING_TESTING = ((0.85, 0.95, 1.0), (0.11, 0.35, 0.75), (0.04, 0.0, 0.05))
REFUSER_SHARE = 0.04  # of people who seldom come to a round (one round in ten)
CLUSTER_SHARE = 0.7  # of a day's cases in buildings that had a case in the last ten days
ISOLATION_DAYS = 14  # after the report: away in a shelter hospital, no tests or scans
IMPORTED_CASE_SHARE = 0.04  # of arrivals from a risk area that turn out infected
SEALED_TESTING_DAYS = 7  # daily tests in a building this long after its latest case
VISITOR_SHARE = 0.3  # of arrivals who are not in the ledger
TRAVELLERS_PER_SERVICE = 6
PENDING_SHARE = 0.002  # of results that never come back

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国玉兰志红梅文斌海燕宁浩晨欣怡子轩雨萱佳琪俊杰"
VENUE_KINDS = ("restaurant", "shop", "workplace", "transport", "hospital", "school")
VENUE_SHARES = (0.35, 0.3, 0.2, 0.05, 0.05, 0.05)
VENUE_WORDS = {"restaurant": ("面馆", "饭店", "小吃", "餐厅"), "shop": ("超市", "便利店", "药房", "菜场"),
               "workplace": ("公司", "大厦", "科技园", "工作室"), "transport": ("地铁站", "公交枢纽"),
               "hospital": ("社区卫生服务中心", "门诊部"), "school": ("小学", "中学", "幼儿园")}
PEOPLE_PER_VENUE = 30
MODES = (("train", 0.6), ("flight", 0.35), ("coach", 0.05))
AIRLINES = ("MU", "FM", "HO", "CA", "CZ", "9C")


@dataclass(frozen=True)
class Round:
    """Mass testing: every ``every`` days from ``first`` to ``last``."""

    first: date
    last: date
    every: int
    kind: str
    coverage: float

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(0, (self.last - self.first).days + 1, self.every)]


@dataclass(frozen=True)
class RiskArea:
    area: str
    level: str
    first: date
    last: date | None


@dataclass(frozen=True)
class EpidemicSpec:
    period: tuple[date, date]
    population: float
    residents_at_scale_1: float
    lockdown: tuple[date, date]
    asymptomatic_share: float
    cases: Curve  # cases reported a day in the whole city
    rounds: tuple[Round, ...]
    scans_per_person_day: float
    arrivals_per_person_day: float
    origins: tuple[str, ...]
    risk_areas: tuple[RiskArea, ...]

    def locked(self, day: date) -> bool:
        return self.lockdown[0] <= day <= self.lockdown[1]


@cache
def load_epidemic(scenario: str) -> EpidemicSpec:
    """The ``[epidemic]`` table of a scenario (only scenarios with a wave of tests have one)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    raw = read_data(f"scenario_{scenario}.toml").get("epidemic")
    if raw is None:
        having = [name for name in SCENARIOS if "epidemic" in read_data(f"scenario_{name}.toml")]
        raise ValueError(f"scenario {scenario} has no epidemic data; use {' or '.join(having)}")
    where = f"scenario {scenario}: epidemic"
    return EpidemicSpec(
        period=(_day(raw["period"][0]), _day(raw["period"][1])),
        population=float(raw["population"]),
        residents_at_scale_1=float(raw["residents_at_scale_1"]),
        lockdown=(_day(raw["lockdown"][0]), _day(raw["lockdown"][1])),
        asymptomatic_share=float(raw["asymptomatic_share"]),
        cases=Curve.from_pairs(raw["cases"], f"{where}.cases"),
        rounds=tuple(_round(r, where) for r in raw["rounds"]),
        scans_per_person_day=float(raw["scans_per_person_day"]),
        arrivals_per_person_day=float(raw["arrivals_per_person_day"]),
        origins=tuple(raw["origins"]),
        risk_areas=tuple(RiskArea(r["area"], r["level"], _day(r["from"]), _day(r["to"]) if "to" in r else None)
                         for r in raw.get("risk_area", [])),
    )


def _round(raw: list[Any], where: str) -> Round:
    first, last, every, kind, share = raw
    if kind not in ("pcr", "antigen") or int(every) < 1 or not 0 < float(share) <= 1:
        raise ValueError(f"{where}.rounds: {raw!r} is not [first, last, every n days, pcr|antigen, share]")
    return Round(_day(first), _day(last), int(every), kind, float(share))


def _day(text: Any) -> date:
    return date.fromisoformat(str(text))


# -- the ledger -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Callers:
    """The people who call, one per phone: where their first order with a home says they live."""

    phone: list[str]
    street: np.ndarray
    slot: np.ndarray  # compound slot in the street
    building: np.ndarray  # building number
    floor: np.ndarray
    door: np.ndarray


def callers(ctx: Context) -> Callers:
    """The callers of the orders ``generate`` writes for the same arguments, on the scenario's
    own days (not the year-earlier comparison days)."""
    seen: set[str] = set()
    phones: list[str] = []
    picks: list[np.ndarray] = []
    streets: list[int] = []
    for row, day in enumerate(ctx.plan.days):
        if not any(first <= day <= last for first, last in ctx.spec.windows):
            continue
        core = day_core(ctx, row)
        if not len(core.problem):
            continue
        draws = day_draws(ctx, row, core)
        numbers = caller_phones(draws.place_pick[:, 3])
        home = (draws.street >= 0) & np.isin(address_forms(draws.place_pick), RESIDENTIAL_FORMS)
        for i in np.flatnonzero(home).tolist():
            phone = numbers[i]
            if phone is not None and phone not in seen:
                seen.add(phone)
                phones.append(phone)
                picks.append(draws.place_pick[i])
                streets.append(int(draws.street[i]))
    pick = np.asarray(picks, dtype=np.int64).reshape(-1, 4)
    slot, building, floor, door = home_parts(pick)
    return Callers(phones, np.asarray(streets, dtype=np.int64), slot, building, floor, door)


@dataclass
class Ledger:
    """The simulated people, as arrays over persons (index = position) and over buildings."""

    person_id: pa.Array  # R0000001 …
    building: np.ndarray  # building index per person
    household: np.ndarray  # household index per person
    caller: np.ndarray  # index into the callers' phones, -1 for everyone else
    unit: np.ndarray  # stair unit (0: not given)
    floor: np.ndarray
    door: np.ndarray
    status: np.ndarray  # index into STATUSES
    b_street: np.ndarray  # per building: street index
    b_slot: np.ndarray  # compound slot in the street
    b_number: np.ndarray  # building number
    b_testing: np.ndarray  # how readily its people come to a round (0..1)

    def __len__(self) -> int:
        return len(self.building)

    @property
    def present(self) -> np.ndarray:
        return self.status == 0

    def members(self) -> tuple[np.ndarray, np.ndarray]:
        """Persons sorted by building, and where each building's people start (``offsets``)."""
        order = np.argsort(self.building, kind="stable")
        offsets = np.searchsorted(self.building[order], np.arange(len(self.b_street) + 1))
        return order, offsets


STATUSES = ("present", "away", "moved_out")


def build_ledger(rng: np.random.Generator, found: Callers, target: int) -> Ledger:
    """Every caller's household where the caller said, then whole buildings for ``target`` people more."""
    table = street_table()
    callers_n = len(found.phone)
    # whole buildings: enough of them, then their households, stair units and rooms
    mean_people = 25 * float(np.dot(np.arange(1, len(HOUSEHOLD_SIZES) + 1), HOUSEHOLD_SIZES))
    count = int(np.ceil(target / mean_people)) if target > 0 else 0
    w_street = rng.choice(len(table.streets), size=count, p=table.probabilities)
    w_slot = rng.integers(0, 40, size=count)
    w_number = rng.integers(1, 61, size=count)
    w_units = rng.integers(1, 4, size=count)
    w_households = rng.integers(10, 41, size=count)
    # one building table for callers' and whole buildings (a caller may live in a whole building)
    street = np.concatenate([found.street, w_street]).astype(np.int64)
    slot = np.concatenate([found.slot, w_slot]).astype(np.int64)
    number = np.concatenate([found.building, w_number]).astype(np.int64)
    keys, first, building_of = np.unique((street * 40 + slot) * 100 + number, return_index=True,
                                         return_inverse=True)
    h_building = np.concatenate([building_of[:callers_n], np.repeat(building_of[callers_n:], w_households)])
    within = np.concatenate([np.arange(k) for k in w_households.tolist()]) if count else np.zeros(0, np.int64)
    units = np.repeat(w_units, w_households)
    stair = within // units
    h_unit = np.concatenate([np.zeros(callers_n, np.int64), within % units + 1])
    h_floor = np.concatenate([found.floor, stair // 2 + 1]).astype(np.int64)
    h_door = np.concatenate([found.door, stair % 2 + 1]).astype(np.int64)
    h_caller = np.concatenate([np.arange(callers_n), np.full(len(within), -1)])
    sizes = rng.choice(len(HOUSEHOLD_SIZES), size=len(h_building), p=HOUSEHOLD_SIZES) + 1
    household = np.repeat(np.arange(len(h_building)), sizes)
    head = np.r_[True, household[1:] != household[:-1]] if len(household) else np.zeros(0, dtype=bool)
    caller = np.where(head, h_caller[household], -1)
    # a few people of the ledger are away or have moved out; callers are at home
    draw = rng.random(len(household))
    status = np.where((caller >= 0) | (draw < 0.94), 0, np.where(draw < 0.99, 1, 2))
    # most buildings test readily; some poorly; a few hardly at all
    kinds = rng.choice(len(BUILDING_TESTING), size=len(keys), p=[k[0] for k in BUILDING_TESTING])
    low = np.array([k[1] for k in BUILDING_TESTING])[kinds]
    high = np.array([k[2] for k in BUILDING_TESTING])[kinds]
    return Ledger(
        person_id=pa.array([f"R{i + 1:07d}" for i in range(len(household))], pa.string()),
        building=h_building[household], household=household, caller=caller,
        unit=h_unit[household], floor=h_floor[household], door=h_door[household], status=status,
        b_street=street[first], b_slot=slot[first], b_number=number[first],
        b_testing=low + (high - low) * rng.random(len(keys)),
    )


def residents_table(rng: np.random.Generator, ledger: Ledger, phones: list[str]) -> pa.Table:
    table = street_table()
    n = len(ledger)
    street = ledger.b_street[ledger.building]
    slot = ledger.b_slot[ledger.building]
    age = rng.integers(0, 96, size=n)
    head = np.r_[True, ledger.household[1:] != ledger.household[:-1]] if n else np.zeros(0, dtype=bool)
    age[head] = rng.integers(20, 90, size=int(head.sum()))  # the first of a household is an adult
    born = date(2022, 3, 1).toordinal() - EPOCH - age * 365 - rng.integers(0, 365, size=n)
    pick = rng.integers(0, 2**31, size=(n, 4))
    extra = rng.random((n, 2))
    # special groups as four bits: elderly, child, disabled, serious illness
    groups = (age >= 70) * 1 + (age < 14) * 2 + (extra[:, 0] < 0.012) * 4 + (extra[:, 1] < 0.02) * 8
    group_text = [";".join(g for bit, g in enumerate(("elderly", "child", "disabled", "serious_illness"))
                           if mask >> bit & 1) or None for mask in range(16)]
    offices = street_office_codes()
    compounds = [name for names in table.compounds for name in names]
    surnames, given = np.array(list(SURNAMES), dtype=object), np.array(list(GIVEN), dtype=object)
    names = surnames[pick[:, 0] % len(surnames)] + given[pick[:, 1] % len(given)] + \
        np.where(pick[:, 1] % 3 > 0, given[pick[:, 2] % len(given)], "")
    floors = _texts(str(k) for k in range(int(ledger.floor.max(initial=0)) + 1))
    return pa.table({
        "person_id": ledger.person_id,
        "name": pa.array(names.tolist(), pa.string()),
        "id_number": pa.array(_id_numbers(table.district_of[street], born, pick[:, 3] % 1000).tolist(),
                              pa.string()),
        "phone": _texts([None, *phones]).take(pa.array(ledger.caller + 1)),
        "district": _texts(table.districts).take(pa.array(table.district_of[street])),
        "street": _texts(table.streets).take(pa.array(street)),
        "compound": _texts(compounds).take(pa.array(street * 40 + slot)),
        "building": _texts(f"{k}号楼" for k in range(61)).take(pa.array(ledger.b_number[ledger.building])),
        "unit": _texts([None, "1单元", "2单元", "3单元"]).take(pa.array(ledger.unit)),
        "room": pc.binary_join_element_wise(floors.take(pa.array(ledger.floor)),
                                            _texts(["00", "01", "02", "03", "04"]).take(pa.array(ledger.door)),
                                            ""),
        "household_id": pa.array([f"HH{h + 1:07d}" for h in ledger.household.tolist()], pa.string()),
        "grid": _texts(f"{office}-G{g + 1:02d}" for office in offices for g in range(10)).take(
            pa.array(street * 10 + slot // 4)),
        "special_groups": _texts(group_text).take(pa.array(groups)),
        "status": _texts(STATUSES).take(pa.array(ledger.status)),
    })


def _texts(values: Any) -> pa.Array:
    return pa.array(list(values), pa.string())


ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])


def _id_numbers(district: np.ndarray, born: np.ndarray, sequence: np.ndarray) -> np.ndarray:
    """Made-up resident ID numbers of the right shape: region 3101xx, birth date, sequence, check."""
    dates = np.char.replace(np.datetime_as_string(born.astype("datetime64[D]")), "-", "")
    body = np.char.add(np.char.add(np.char.add("3101", np.char.zfill((district + 1).astype(str), 2)), dates),
                       np.char.zfill(sequence.astype(str), 3)).astype("U17")
    digits = body.view("U1").reshape(len(body), 17).astype(np.int64) if len(body) else np.zeros((0, 17), np.int64)
    check = np.array(list("10X98765432"))[(digits * ID_WEIGHTS).sum(axis=1) % 11]
    return np.char.add(body, check)


# -- days, times --------------------------------------------------------------------------------------

EPOCH = date(1970, 1, 1).toordinal()


def _seconds(day: date) -> int:
    """Local midnight of ``day`` as seconds since 1970-01-01 00:00 local."""
    return (day.toordinal() - EPOCH) * 86400


def stamps(seconds: np.ndarray, known: np.ndarray | None = None) -> pa.Array:
    """Local seconds since 1970 → ISO 8601 text with the Shanghai offset (null where not ``known``)."""
    seconds = np.asarray(seconds, dtype=np.int64)
    if not len(seconds):
        return pa.array([], pa.string())
    day, second = np.divmod(seconds, 86400)
    first = int(day.min())
    days = _texts(f"{date.fromordinal(EPOCH + d).isoformat()}T" for d in range(first, int(day.max()) + 1))
    text = pc.binary_join_element_wise(days.take(pa.array(day - first)), _clock().take(pa.array(second)), "")
    return text if known is None else pc.if_else(pa.array(known), text, pa.scalar(None, pa.string()))


@cache
def _clock() -> pa.Array:
    return _texts(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+08:00" for s in range(86400))


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


# -- trips --------------------------------------------------------------------------------------------


@dataclass
class Trips:
    table: pa.Table
    risky: list[tuple[int, int]]  # (traveller: person index, or -(visitor number), arrival seconds)


def trips_table(rng: np.random.Generator, spec: EpidemicSpec, ledger: Ledger, days: list[date]) -> Trips:
    columns: dict[str, list[Any]] = {c: [] for c in ("person_id", "mode", "from_area", "trip_no", "carriage",
                                                     "seat", "to_area")}
    arrived: list[int] = []
    departed: list[int] = []
    risky: list[tuple[int, int]] = []
    districts = street_table().districts
    home_district = street_table().district_of[ledger.b_street[ledger.building]]
    present = np.flatnonzero(ledger.present)
    visitors = 0
    for day in days:
        rate = spec.arrivals_per_person_day * (0.1 if spec.locked(day) else 1.0)
        count = min(int(rng.poisson(rate * len(ledger))), len(present))
        if count == 0:
            continue
        services = max(1, count // TRAVELLERS_PER_SERVICE)
        active = [a for a in spec.risk_areas if a.level in ("medium", "high")
                  and a.first <= day and (a.last is None or day <= a.last) and not a.area.startswith("上海")]
        plans = [_service(rng, spec, day, active) for _ in range(services)]
        on = rng.integers(0, services, size=count)
        # each traveller once a day: residents coming home, and visitors
        residents = rng.choice(present, size=count, replace=False)
        visiting = rng.random(count) < VISITOR_SHARE
        for k in range(count):
            mode, trip_no, origin, from_risk, leaves, lands = plans[int(on[k])]
            if visiting[k]:
                visitors += 1
                who, person, to_area = -visitors, f"V{visitors:07d}", "上海市"
            else:
                who = int(residents[k])
                person, to_area = ledger.person_id[who].as_py(), "上海市" + districts[int(home_district[who])]
            columns["person_id"].append(person)
            columns["mode"].append(mode)
            columns["from_area"].append(origin)
            columns["trip_no"].append(trip_no)
            columns["carriage"].append(f"{rng.integers(1, 17):02d}" if mode == "train" else None)
            columns["seat"].append(f"{rng.integers(1, 19)}{'ABCDF'[rng.integers(0, 5)]}" if mode == "train"
                                   else f"{rng.integers(1, 36)}{'ABCDEF'[rng.integers(0, 6)]}" if mode == "flight"
                                   else f"{rng.integers(1, 50)}")
            columns["to_area"].append(to_area)
            arrived.append(lands)
            departed.append(leaves)
            if from_risk:
                risky.append((who, lands))
    data = {k: pa.array(v, pa.string()) for k, v in columns.items()}
    data["arrived_at"] = stamps(np.asarray(arrived, dtype=np.int64))
    data["departed_at"] = stamps(np.asarray(departed, dtype=np.int64))
    table = pa.table(data).select(["person_id", "mode", "arrived_at", "from_area", "trip_no", "departed_at",
                                   "carriage", "seat", "to_area"])
    return Trips(table, risky)


def _service(rng: np.random.Generator, spec: EpidemicSpec, day: date,
             active: list[RiskArea]) -> tuple[str, str, str, bool, int, int]:
    """One train, flight or coach arriving on ``day``: (mode, number, origin, from a risk area,
    departure, arrival)."""
    mode = MODES[int(rng.choice(len(MODES), p=[m[1] for m in MODES]))][0]
    from_risk = bool(active) and rng.random() < 0.25
    origin = active[int(rng.integers(0, len(active)))].area if from_risk else \
        spec.origins[int(rng.integers(0, len(spec.origins)))]
    if from_risk and origin.count("省") == 1 and not origin.endswith("省") and rng.random() < 0.3:
        origin = origin.split("省", 1)[1]  # written without its province: 长春市南关区
    if mode == "train":
        number, hours = f"{'GD'[int(rng.integers(0, 2))]}{rng.integers(1, 9999)}", rng.uniform(3, 9)
    elif mode == "flight":
        number, hours = f"{AIRLINES[int(rng.integers(0, len(AIRLINES)))]}{rng.integers(1000, 9999)}", \
            rng.uniform(1.5, 4)
    else:
        number, hours = f"沪{rng.integers(100, 999)}班", rng.uniform(3, 8)
    lands = _seconds(day) + int(rng.integers(6 * 3600, 23 * 3600))
    return mode, number, origin, from_risk, lands - int(hours * 3600), lands


# -- cases --------------------------------------------------------------------------------------------


@dataclass
class Cases:
    table: pa.Table
    person: np.ndarray  # ledger index per resident case (visitors are in the table only)
    sampled: np.ndarray  # seconds, per resident case
    reported: np.ndarray
    positive: pa.Table  # every case's positive sample (residents and visitors), as tests


def cases_table(rng: np.random.Generator, spec: EpidemicSpec, ledger: Ledger, trips: Trips,
                days: list[date], scale_people: float) -> Cases:
    members, offsets = ledger.members()
    last_case = np.full(len(ledger.b_street), -(10**9), dtype=np.int64)  # per building: day ordinal
    person: list[int] = []
    visitor: list[str] = []
    reported: list[int] = []
    visitor_reported: list[int] = []
    imported: dict[int, list[int]] = {}  # day ordinal -> travellers reported that day
    for who, lands in trips.risky:
        if rng.random() < IMPORTED_CASE_SHARE:
            imported.setdefault((lands // 86400) + EPOCH + int(rng.integers(1, 5)), []).append(who)
    susceptible = ledger.present.copy()
    for day in days:
        ordinal = day.toordinal()
        expected = float(spec.cases.at(np.array([ordinal]))[0]) * scale_people
        hot = np.flatnonzero(ordinal - last_case <= 10)
        pool = np.concatenate([members[offsets[b]:offsets[b + 1]] for b in hot]) if len(hot) else \
            np.empty(0, dtype=np.int64)
        pool = pool[susceptible[pool]]
        everyone = np.flatnonzero(susceptible)
        chosen: list[int] = []
        for _ in range(int(rng.poisson(expected))):
            source = pool if len(pool) and rng.random() < CLUSTER_SHARE else everyone
            if not len(source):
                break
            chosen.append(int(source[rng.integers(0, len(source))]))
        for who in imported.get(ordinal, []):
            if who < 0:
                visitor.append(f"V{-who:07d}")
                visitor_reported.append(_seconds(day) + int(rng.integers(6 * 3600, 23 * 3600)))
            elif susceptible[who]:
                chosen.append(who)
        for who in dict.fromkeys(chosen):
            if not susceptible[who]:
                continue
            susceptible[who] = False
            person.append(who)
            reported.append(_seconds(day) + int(rng.integers(6 * 3600, 23 * 3600)))
            last_case[ledger.building[who]] = ordinal
    n, v = len(person), len(visitor)
    all_reported = np.asarray(reported + visitor_reported, dtype=np.int64)
    sampled = all_reported - rng.integers(6 * 3600, 48 * 3600, size=n + v)
    confirmed = rng.random(n + v) >= spec.asymptomatic_share
    onset = sampled - rng.integers(0, 48 * 3600, size=n + v)
    ids = ledger.person_id.take(pa.array(person, pa.int64())).to_pylist() + visitor
    table = pa.table({
        "person_id": pa.array(ids, pa.string()),
        "reported_at": stamps(all_reported),
        "onset_at": stamps(onset, confirmed),
        "sampled_at": stamps(sampled),
        "kind": pa.array(np.where(confirmed, "confirmed", "asymptomatic").tolist(), pa.string()),
    })
    positive = pa.table({"person_id": table["person_id"], "sampled_at": table["sampled_at"],
                         "result": pa.array(["positive"] * (n + v), pa.string()),
                         "kind": pa.array(["pcr"] * (n + v), pa.string()),
                         "site": pa.array(["发热门诊"] * (n + v), pa.string())})
    return Cases(table, np.asarray(person, dtype=np.int64), sampled[:n], all_reported[:n], positive)


# -- tests --------------------------------------------------------------------------------------------


def tests_table(rng: np.random.Generator, spec: EpidemicSpec, ledger: Ledger, cases: Cases,
                days: list[date]) -> pa.Table:
    table = street_table()
    refuser = rng.random(len(ledger)) < REFUSER_SHARE
    willing = ledger.b_testing[ledger.building] * np.where(refuser, 0.1, 1.0)
    # from the day of the positive sample until two weeks after the report: in a shelter hospital
    isolated_from = np.full(len(ledger), np.iinfo(np.int64).max)
    isolated_until = np.full(len(ledger), np.iinfo(np.int64).min)
    isolated_from[cases.person] = cases.sampled // 86400 * 86400
    isolated_until[cases.person] = cases.reported + ISOLATION_DAYS * 86400
    latest_case = np.full(len(ledger.b_street), -(10**9), dtype=np.int64)  # per building: day number
    reported_day = cases.reported // 86400
    rounds: dict[date, list[Round]] = {}
    for r in spec.rounds:
        for day in r.days():
            rounds.setdefault(day, []).append(r)
    sites = _texts(f"{table.compounds[s][slot]}核酸采样点" for s, slot in
                   zip(ledger.b_street.tolist(), ledger.b_slot.tolist(), strict=True))
    # each building queues at its own time of the morning; antigen tests are taken at home at night
    queue = rng.integers(7 * 3600, 12 * 3600, size=len(ledger.b_street))
    persons: list[np.ndarray] = []
    times: list[np.ndarray] = []
    kinds: list[str] = []
    for day in days:
        midnight = _seconds(day)
        today = midnight // 86400
        np.maximum.at(latest_case, ledger.building[cases.person[reported_day == today]], today)
        free = ledger.present & ~((isolated_from <= midnight) & (midnight < isolated_until))
        sealed = free & (today - latest_case[ledger.building] < SEALED_TESTING_DAYS) & spec.locked(day)
        todays = rounds.get(day, [])
        for r in todays:
            tested = free & (rng.random(len(ledger)) < np.minimum(1.0, willing * r.coverage))
            if r.kind == "pcr":
                tested |= sealed & (rng.random(len(ledger)) < 0.95)
            persons.append(np.flatnonzero(tested))
            kinds.append(r.kind)
        if not any(r.kind == "pcr" for r in todays):
            persons.append(np.flatnonzero(sealed & (rng.random(len(ledger)) < 0.95)))
            kinds.append("pcr")
        for who, kind in zip(persons[len(times):], kinds[len(times):], strict=True):
            start = queue[ledger.building[who]] if kind == "pcr" else 20 * 3600
            times.append(midnight + start + rng.integers(0, 3 * 3600, size=len(who)))
    who = np.concatenate(persons) if persons else np.empty(0, dtype=np.int64)
    at = np.concatenate(times) if times else np.empty(0, dtype=np.int64)
    kind = np.repeat(np.array([r == "antigen" for r in kinds], dtype=np.int64), [len(p) for p in persons])
    # results of the last day are not back yet; a few never come back
    pending = (at >= _seconds(days[-1]) + 6 * 3600) | (rng.random(len(who)) < PENDING_SHARE)
    rounds_table = pa.table({
        "person_id": ledger.person_id.take(pa.array(who, pa.int64())),
        "sampled_at": stamps(at),
        "result": _texts(["negative", "pending"]).take(pa.array((pending & (kind == 0)).astype(np.int64))),
        "kind": _texts(["pcr", "antigen"]).take(pa.array(kind)),
        "site": pa.concat_arrays([sites, pa.nulls(1, pa.string())]).take(
            pa.array(np.where(kind == 0, ledger.building[who], len(sites)))),
    })
    # unique by construction: one test of a kind per person a day, none while isolated
    return pa.concat_tables([rounds_table, cases.positive])


# -- scans --------------------------------------------------------------------------------------------


def scans_table(rng: np.random.Generator, spec: EpidemicSpec, ledger: Ledger, cases: Cases,
                days: list[date]) -> pa.Table:
    table = street_table()
    street_people = np.bincount(ledger.b_street[ledger.building], minlength=len(table.streets))
    v_street: list[int] = []
    v_kind: list[int] = []
    for s in np.flatnonzero(street_people).tolist():
        count = max(4, int(street_people[s]) // PEOPLE_PER_VENUE)
        v_street += [s] * count
        v_kind += rng.choice(len(VENUE_KINDS), size=count, p=VENUE_SHARES).tolist()
    venue_street = np.asarray(v_street, dtype=np.int64)
    venue_kind = np.asarray(v_kind, dtype=np.int64)
    roads = read_data("places.toml")["roads"]
    code_list = [f"SH{table.district_codes[table.district_of[s]]}{s:03d}{v:05d}" for v, s in enumerate(v_street)]
    codes = _texts(code_list)
    names = _texts(f"{roads[zlib.crc32(code.encode()) % len(roads)]}{v % 900 + 1}号"
                   f"{_pick(VENUE_WORDS[VENUE_KINDS[k]], v)}" for v, (code, k) in enumerate(zip(code_list, v_kind, strict=True)))
    first_venue = np.searchsorted(venue_street, np.arange(len(table.streets) + 1))
    home_street = ledger.b_street[ledger.building]
    isolated_from = np.full(len(ledger), np.iinfo(np.int64).max)
    isolated_until = np.full(len(ledger), np.iinfo(np.int64).min)
    isolated_from[cases.person] = cases.reported
    isolated_until[cases.person] = cases.reported + ISOLATION_DAYS * 86400
    persons, venues, scanned, left = [], [], [], []
    for day in days:
        midnight = _seconds(day)
        free = np.flatnonzero(ledger.present & ~((isolated_from <= midnight) & (midnight < isolated_until)))
        rate = spec.scans_per_person_day * (0.05 if spec.locked(day) else 1.0)
        count = int(rng.poisson(rate * len(free)))
        if count == 0:
            continue
        who = free[rng.integers(0, len(free), size=count)]
        s = home_street[who]
        local = first_venue[s] + rng.integers(0, 2**31, size=count) % (first_venue[s + 1] - first_venue[s])
        venue = np.where(rng.random(count) < 0.85, local, rng.integers(0, len(venue_street), size=count))
        at, out = _venue_times(rng, venue_kind[venue], midnight)
        # a person scans a venue once a second: drop the rare repeat of a draw
        _, once = np.unique((who * len(venue_street) + venue) * 86400 + (at - midnight), return_index=True)
        once.sort()
        who, venue, at, out = who[once], venue[once], at[once], out[once]
        persons.append(who)
        venues.append(venue)
        scanned.append(at)
        left.append(out)
    who, venue = np.concatenate(persons), np.concatenate(venues)
    at, out = np.concatenate(scanned), np.concatenate(left)
    street = venue_street[venue]
    venues_at = pa.array(venue)
    return pa.table({
        "person_id": ledger.person_id.take(pa.array(who)),
        "venue_code": codes.take(venues_at),
        "scanned_at": stamps(at),
        "left_at": stamps(out, out > 0),
        "venue_name": names.take(venues_at),
        "district": _texts(table.districts).take(pa.array(table.district_of[street])),
        "street": _texts(table.streets).take(pa.array(street)),
        "venue_kind": _texts(VENUE_KINDS).take(pa.array(venue_kind[venue])),
    })


def _pick(words: tuple[str, ...], number: int) -> str:
    return words[number % len(words)]


def _venue_times(rng: np.random.Generator, kind: np.ndarray, midnight: int) -> tuple[np.ndarray, np.ndarray]:
    """When people scan in at each kind of venue, and when some of them scan out (0: no check-out)."""
    n = len(kind)
    anywhere = rng.integers(8 * 3600, 21 * 3600, size=n)
    lunch_or_dinner = np.where(rng.random(n) < 0.5, 11 * 3600 + rng.integers(0, 5400, size=n),
                               17 * 3600 + rng.integers(0, 7200, size=n))
    morning = 8 * 3600 + rng.integers(0, 5400, size=n)
    restaurant, workplace = VENUE_KINDS.index("restaurant"), VENUE_KINDS.index("workplace")
    at = np.where(kind == restaurant, lunch_or_dinner, np.where(kind == workplace, morning, anywhere))
    stay = np.where(kind == restaurant, rng.integers(40 * 60, 100 * 60, size=n),
                    np.where(kind == workplace, 17 * 3600 + rng.integers(0, 7200, size=n) - at, 0))
    checks_out = ((kind == restaurant) & (rng.random(n) < 0.4)) | ((kind == workplace) & (rng.random(n) < 0.6))
    return midnight + at, np.where(checks_out, midnight + at + stay, 0)


# -- risk areas ---------------------------------------------------------------------------------------


def risk_areas_table(spec: EpidemicSpec) -> pa.Table:
    return pa.table({
        "area": pa.array([a.area for a in spec.risk_areas], pa.string()),
        "level": pa.array([a.level for a in spec.risk_areas], pa.string()),
        "from": pa.array([a.first.isoformat() for a in spec.risk_areas], pa.string()),
        "to": pa.array([a.last.isoformat() if a.last else None for a in spec.risk_areas], pa.string()),
    })


# -- the whole ------------------------------------------------------------------------------------------


def _rng(seed: int, scenario: str, purpose: str) -> np.random.Generator:
    return np.random.default_rng([seed, int(scenario), zlib.crc32(f"epidemic.{purpose}".encode())])


def simulate_epidemic(scenario: str = "2022", scale: float = 0.05, seed: int = 1, start: date | None = None,
                      end: date | None = None) -> dict[str, pa.Table]:
    """The six kinds as tables of text columns (formats.md §6), for the orders that ``generate``
    yields with the same arguments (see the module doc)."""
    spec = load_epidemic(scenario)
    if scale <= 0:
        raise ValueError("scale must be positive")
    ctx = build_context(scenario, scale, seed, start, end)
    days = [d for d in _days(*spec.period) if ctx.plan.days[0] <= d <= ctx.plan.days[-1]]
    if not days:
        raise ValueError(f"the period {ctx.plan.days[0]} .. {ctx.plan.days[-1]} has no day of the "
                         f"{scenario} wave ({spec.period[0]} .. {spec.period[1]})")
    found = callers(ctx)
    ledger = build_ledger(_rng(seed, scenario, "ledger"), found, round(spec.residents_at_scale_1 * scale))
    # cases per person of the city × people in the ledger
    scale_people = len(ledger) / spec.population
    trips = trips_table(_rng(seed, scenario, "trips"), spec, ledger, days)
    cases = cases_table(_rng(seed, scenario, "cases"), spec, ledger, trips, days, scale_people)
    return {
        "residents": residents_table(_rng(seed, scenario, "residents"), ledger, found.phone),
        "tests": tests_table(_rng(seed, scenario, "tests"), spec, ledger, cases, days),
        "scans": scans_table(_rng(seed, scenario, "scans"), spec, ledger, cases, days),
        "trips": trips.table,
        "cases": cases.table,
        "risk-areas": risk_areas_table(spec),
    }


def write_epidemic(folder: str | Path, scenario: str = "2022", scale: float = 0.05, seed: int = 1,
                   start: date | None = None, end: date | None = None) -> dict[str, tuple[Path, int]]:
    """Write the six files into ``folder``; returns kind -> (path, rows)."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written = {}
    for kind, data in simulate_epidemic(scenario, scale, seed, start, end).items():
        path = target / FILES[kind]
        pacsv.write_csv(data, path)
        written[kind] = (path, data.num_rows)
    return written
