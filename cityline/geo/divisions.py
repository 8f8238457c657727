"""China's administrative divisions, read from the township data jionlp ships.

jionlp's ``dictionary/china_location.txt`` (province → city → district → street/town →
village, tab-indented, codes on the three upper levels) is the national statistics
list of divisions. We read it straight from the installed package (falling back to
the zip it ships, which jionlp only unpacks on first import), skip the village level
and keep the rest in memory once. Nothing here is typed by hand.
"""

from __future__ import annotations

import importlib.util
import io
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from cityline.once import built_once

PROVINCE, CITY, DISTRICT, STREET = "province", "city", "district", "street"
LEVELS = (PROVINCE, CITY, DISTRICT, STREET)

# jionlp's placeholders for units that sit directly under a province or a city
# (e.g. 湖北省 → 省直辖行政区划 → 仙桃市; 东莞市 → 市直辖行政区划 → 万江街道).
# They are not places anyone names, so we drop them and hang the children one level up.
_PLACEHOLDERS = ("省直辖行政区划", "市直辖行政区划", "自治区直辖县级行政区划")


@dataclass(frozen=True)
class Division:
    """One administrative division.

    ``code`` is the statistics code (None for streets/towns: the data gives none).
    ``parent`` is the parent division's ``key`` (None for a province). A municipality
    (上海市) is both a province and a city with one code, so keys carry the level.
    """

    code: str | None
    name: str
    level: str
    parent: str | None
    aliases: tuple[str, ...] = field(default=(), compare=False)

    @cached_property
    def key(self) -> str:
        """A unique id: level and code, or parent key + name for streets (which have no code)."""
        return f"{self.level}:{self.code}" if self.code else f"{self.parent}/{self.name}"


class Divisions:
    """All divisions with lookups by key, by name and by parent."""

    def __init__(self, divisions: Iterable[Division]) -> None:
        self.all: tuple[Division, ...] = tuple(divisions)
        self.by_key: dict[str, Division] = {}
        self._children: dict[str | None, list[Division]] = {}
        self._by_name: dict[str, list[Division]] = {}
        for division in self.all:
            self.by_key[division.key] = division
            self._children.setdefault(division.parent, []).append(division)
            self._by_name.setdefault(division.name, []).append(division)

    def __len__(self) -> int:
        return len(self.all)

    def __iter__(self) -> Iterator[Division]:
        return iter(self.all)

    def children(self, division: Division | None) -> list[Division]:
        """Divisions directly under ``division`` (None: the provinces)."""
        return list(self._children.get(division.key if division else None, ()))

    def parent(self, division: Division) -> Division | None:
        return self.by_key.get(division.parent) if division.parent else None

    def ancestors(self, division: Division) -> list[Division]:
        """Parent, grandparent, … up to the province."""
        chain: list[Division] = []
        current = self.parent(division)
        while current is not None:
            chain.append(current)
            current = self.parent(current)
        return chain

    def named(self, name: str, level: str | None = None) -> list[Division]:
        """Divisions whose official name is ``name`` (several: 朝阳区 is in 北京 and 长春)."""
        found = self._by_name.get(name, [])
        return [d for d in found if level is None or d.level == level]

    def of_level(self, level: str) -> list[Division]:
        if level not in LEVELS:
            raise ValueError(f"unknown division level {level!r}; expected one of {LEVELS}")
        return [d for d in self.all if d.level == level]


def jionlp_dictionary_dir() -> Path:
    spec = importlib.util.find_spec("jionlp")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("jionlp is not installed; it ships the division data cityline.geo reads")
    return Path(next(iter(spec.submodule_search_locations))) / "dictionary"


def read_location_text(folder: Path | None = None) -> str:
    """The text of china_location.txt in jionlp's dictionary folder, or of the zip it
    ships (jionlp only unpacks the zip the first time it is imported)."""
    folder = folder or jionlp_dictionary_dir()
    text_file = folder / "china_location.txt"
    if text_file.exists():
        return text_file.read_text(encoding="utf-8")
    with (
        zipfile.ZipFile(folder / "china_location.zip") as archive,
        archive.open("china_location.txt") as member,
    ):
        return io.TextIOWrapper(member, encoding="utf-8").read()


def parse_location_lines(lines: Iterable[str]) -> list[Division]:
    """Turn jionlp's indented lines into divisions (villages skipped).

    A few codes are shared by several places in the data (Hong Kong's districts all
    carry 810000): a shared code identifies nothing, so those places get no code.
    Exact repeats (same name under the same parent) are kept once.
    """
    lines = [raw for raw in lines if raw.strip() and _depth(raw) <= 3]
    code_uses = Counter((_depth(raw), _code_of(raw)) for raw in lines)
    seen: set[str] = set()
    result: list[Division] = []
    parents: list[Division | None] = [None, None, None]  # current province, city, district
    for raw in lines:
        depth = _depth(raw)
        parts = raw.strip().split("\t")
        name = parts[0]
        code = _code_of(raw)
        if code and code_uses[depth, code] > 1:
            code = None
        aliases = tuple(a for a in parts[2].split("/") if a) if len(parts) > 2 else ()
        level = LEVELS[depth]
        if name in _PLACEHOLDERS:
            # children go one level up: the placeholder stands for its own parent
            parents[depth] = parents[depth - 1] if depth else None
            continue
        above = next((p for p in reversed(parents[:depth]) if p is not None), None)
        division = Division(code, name, level, above.key if above else None, aliases)
        if division.key in seen:
            continue
        seen.add(division.key)
        result.append(division)
        if depth < 3:
            parents[depth] = division
            for deeper in range(depth + 1, 3):
                parents[deeper] = None
    return result


def _depth(raw: str) -> int:
    return len(raw) - len(raw.lstrip("\t"))


def _code_of(raw: str) -> str | None:
    parts = raw.strip().split("\t")
    if len(parts) < 2 or not parts[1]:
        return None
    return parts[1]


@built_once
def load_divisions() -> Divisions:
    """Every province, city, district and street/town of China (cached after the first call)."""
    return Divisions(parse_location_lines(read_location_text().splitlines()))


@built_once
def _shanghai_streets() -> tuple[tuple[str, tuple[str, ...]], ...]:
    divisions = load_divisions()
    (shanghai,) = divisions.named("上海市", CITY)
    districts = [d for d in divisions.children(shanghai) if d.level == DISTRICT]
    return tuple(
        (district.name, tuple(s.name for s in divisions.children(district) if is_street_or_town(s)))
        for district in districts
    )


def is_street_or_town(division: Division) -> bool:
    """True for a 街道, 镇 or 乡; False for the other township-level units in the data
    (development zones, industrial parks, state farms: 漕河泾新兴技术开发区, 东平林场)."""
    return division.level == STREET and division.name.endswith(("街道", "镇", "乡"))


def shanghai_streets() -> dict[str, list[str]]:
    """Official Shanghai district name → its official street/town names (all 16 districts).

    Only 街道, 镇 and 乡 (see :func:`is_street_or_town`); the data's development zones
    and farms are left out, since no caller lives "in" them as a street. e.g. ``{"徐汇区": ["凌云路街道", ..., "龙华街道"], ...}``. A fresh dict on every call,
    so callers may change it freely.
    """
    return {district: list(streets) for district, streets in _shanghai_streets()}
