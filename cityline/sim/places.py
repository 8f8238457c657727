"""Where orders come from: real Shanghai districts and streets, weighted by population.

District and street names come from ``cityline.geo.divisions.shanghai_streets()``;
populations and the road and compound names used in addresses from
``data/places.toml``. Addresses are plausible, not real: a real street with a road
name and a compound name made up from common parts.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from cityline.geo.divisions import shanghai_streets
from cityline.sim.catalogue import read_data
from cityline.sim.scenarios import Scenario
from cityline.sim.texts import join_pieces, objects

COMPOUNDS_PER_STREET = 40


@dataclass(frozen=True)
class StreetTable:
    districts: tuple[str, ...]
    district_codes: tuple[str, ...]
    district_en: tuple[str, ...]
    district_of: np.ndarray  # street index -> district index
    streets: tuple[str, ...]
    probabilities: np.ndarray  # chance an order with a place comes from each street
    compounds: tuple[tuple[str, ...], ...]  # street index -> compound names there

    def index(self, district: str, street: str) -> int:
        for number, name in enumerate(self.streets):
            if name == street and self.districts[self.district_of[number]] == district:
                return number
        raise ValueError(f"no street {street!r} in {district!r}")


@lru_cache(maxsize=1)
def street_table() -> StreetTable:
    data = read_data("places.toml")
    info = data["districts"]
    by_district = shanghai_streets()
    missing = sorted(set(info) - set(by_district))
    if missing:
        raise ValueError(f"cityline.geo knows no streets for {', '.join(missing)}")
    districts = tuple(sorted(info, key=lambda d: info[d]["code"]))
    streets: list[str] = []
    owner: list[int] = []
    weights: list[float] = []
    for number, district in enumerate(districts):
        names = sorted(by_district[district])
        shares = [_street_weight(name, data) for name in names]
        for name, share in zip(names, shares, strict=True):
            streets.append(name)
            owner.append(number)
            weights.append(info[district]["population"] * share / sum(shares))
    probabilities = np.asarray(weights) / sum(weights)
    return StreetTable(
        districts=districts,
        district_codes=tuple(info[d]["code"] for d in districts),
        district_en=tuple(info[d]["en"] for d in districts),
        district_of=np.asarray(owner),
        streets=tuple(streets),
        probabilities=probabilities,
        compounds=tuple(_compounds(name, data) for name in streets),
    )


def _street_weight(name: str, data: dict) -> float:
    sparse = any(marker in name for marker in data["sparse_markers"])
    return float(data["sparse_weight"]) if sparse else 1.0


def _compounds(street: str, data: dict) -> tuple[str, ...]:
    """A street's compounds: a stable pick of name parts, the same on every run."""
    first, second = data["compound_first"], data["compound_second"]
    start = zlib.crc32(street.encode())
    return tuple(
        first[(start + 7 * k) % len(first)] + second[(start // 7 + 5 * k) % len(second)]
        for k in range(COMPOUNDS_PER_STREET)
    )


def roads() -> tuple[str, ...]:
    return tuple(read_data("places.toml")["roads"])


def signal_streets(spec: Scenario, seed: int) -> dict[str, np.ndarray]:
    """Problem id -> the street indexes its injected signal concentrates in."""
    table = street_table()
    chosen: dict[str, np.ndarray] = {}
    for signal in spec.signals:
        picks = [_named_street(table, name, signal.problem) for name in signal.streets]
        tag = zlib.crc32(signal.problem.encode())
        rng = np.random.default_rng([seed, int(spec.name), tag])
        for district in signal.districts:
            if district not in table.districts:
                raise ValueError(f"signal {signal.problem}: unknown district {district!r}")
            owner = table.districts.index(district)
            candidates = np.flatnonzero(table.district_of == owner)
            # prefer streets where people live (by weight), not farms or parks
            weights = table.probabilities[candidates] / table.probabilities[candidates].sum()
            size = min(signal.streets_per_district, len(candidates))
            picks.extend(rng.choice(candidates, size=size, replace=False, p=weights).tolist())
        if picks:
            chosen[signal.problem] = np.asarray(sorted(set(picks)))
    return chosen


def _named_street(table: StreetTable, name: str, problem_id: str) -> int:
    district, _, street = name.partition("/")
    try:
        return table.index(district, street)
    except ValueError:
        raise ValueError(f"signal {problem_id}: no street {name!r} (write 区/街道)") from None


def signal_places(spec: Scenario, seed: int) -> dict[str, list[dict[str, str]]]:
    """Problem id -> the district and street of each place its signal concentrates in."""
    table = street_table()
    return {
        problem_id: [
            {"district": table.districts[table.district_of[i]], "street": table.streets[i]}
            for i in indexes
        ]
        for problem_id, indexes in signal_streets(spec, seed).items()
    }


# What a text says for the place when the caller gave none (caller's words, operator's).
NO_PLACE = (("家附近", "我们小区", "我们这边"), ("其居住地附近", "其所在小区", "其住所附近"))


@lru_cache(maxsize=1)
def _address_parts() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    table = street_table()
    compounds = objects([c for names in table.compounds for c in names])
    numbers = objects([str(i) for i in range(2000)])
    return (objects(table.districts), objects(table.streets), compounds,
            objects(roads()), numbers)


# The address forms (see ``addresses``) that name the caller's compound: a home.
RESIDENTIAL_FORMS = (2, 3, 4)
ADDRESS_FORMS = 5


def address_forms(pick: np.ndarray) -> np.ndarray:
    """Which of the ``ADDRESS_FORMS`` forms each address is written in."""
    return pick[:, 1] % ADDRESS_FORMS


def home_parts(pick: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The home an order's address points at, from its four random integers: the
    compound's slot in its street, the building number, the floor and the door
    (room ``{floor}0{door}``). The epidemic ledger houses callers here."""
    return (pick[:, 0] % COMPOUNDS_PER_STREET, pick[:, 3] % 60 + 1, pick[:, 2] % 20 + 1,
            pick[:, 3] % 4 + 1)


def addresses(street: np.ndarray, pick: np.ndarray,
              operator: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Addresses (None without a place) and the phrase a text uses for the place.

    ``street`` holds street indexes (-1: no place), ``pick`` four random integers per
    order, ``operator`` whether the text is an operator's write-up.
    """
    table = street_table()
    districts, streets, compounds, road_names, numbers = _address_parts()
    placed = street >= 0
    s = np.maximum(street, 0)
    district = districts[table.district_of[s]]
    name = streets[s]
    slot, building_number, floor, door = home_parts(pick)
    compound = compounds[s * COMPOUNDS_PER_STREET + slot]
    road = road_names[pick[:, 1] % len(road_names)]
    number, building = numbers[pick[:, 2] % 1800 + 1], numbers[building_number]
    room = numbers[floor] + "0" + numbers[door] + "室"
    forms = (
        ("上海市", district, name, road, number, "弄", building, "号", room),
        (district, road, number, "号"),
        (district, name, compound),
        (name, compound, building, "号楼"),
        ("上海市", district, compound, building, "号", room),
    )
    address = np.full(len(street), None, dtype=object)
    form = address_forms(pick)
    for number_of_form, parts in enumerate(forms):
        rows = np.flatnonzero(placed & (form == number_of_form))
        if len(rows):
            columns = [part if isinstance(part, str) else part[rows] for part in parts]
            address[rows] = join_pieces(columns)
    return address, _place_phrases(placed, pick, operator, district, name, compound, road)


def _place_phrases(placed, pick, operator, district, name, compound, road) -> np.ndarray:
    choice = pick[:, 2] % 3
    said = np.where(choice == 0, compound, np.where(choice == 1, name, road + "那边"))
    written = np.where(choice == 0, district + name, name + compound)
    place = np.where(operator, written, said)
    missing = np.where(operator, objects(NO_PLACE[1])[pick[:, 0] % 3],
                       objects(NO_PLACE[0])[pick[:, 0] % 3])
    return np.where(placed, place, missing)
