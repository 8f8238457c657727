"""The gazetteer: every way people write a division, compiled once into one matcher.

Surface forms come from the division data only (official names, jionlp's aliases,
and names with their generic suffix taken off: 漕河泾街道 → 漕河泾, 曹杨新村街道 → 曹杨新村 →
曹杨, 江桥镇 → 江桥). Each form points at one or more candidates with an evidence
strength; resolving which candidate the text means is the parser's job.

The matcher is a dict of forms plus, for each first character, the form lengths
that start with it (longest first): scanning a text is a few dict look-ups per
character, which keeps parsing well above 2,000 addresses a second.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from cityline.geo.divisions import CITY, DISTRICT, PROVINCE, STREET, Division, load_divisions
from cityline.once import built_once

# Evidence strengths (how sure a form alone makes us of its division).
FULL = 1.0  # the official name: 徐汇区, 长寿路街道, 武汉市
ALIAS = 0.9  # a district without 区: 徐汇, 浦东
CITY_ALIAS = 0.8  # a province or city without 省/市: 上海, 湖北, 北京
# a street/town without its suffix: 漕河泾, 江桥, 曹杨新村, 真如镇, and a shorter core
# still: 曹杨 (曹杨新村街道), 真如 (真如镇街道). One strength for both, so that a core shared
# by two streets (彭浦: 彭浦镇, 彭浦新村街道) stays a tie, not a guess.
SHORT = 0.8
ROAD = 0.5  # a street office named after a road, written as the road: 长寿路
DEFAULT_CITY = 0.3  # the hotline's own city, when the text names no other place

# Words so common in ordinary speech (jieba frequency) that, as a street's short
# form, they count only when the text also names the street's district: 建设 (建设镇),
# 长征 (长征镇), 花木 (花木街道).
COMMON_WORD_FREQUENCY = 300

# Suffixes taken off township names, longest first (the core must keep ≥ 2 characters).
_TOWNSHIP_SUFFIXES = ("街道", "新镇", "新区", "镇", "乡")

# Kinds of match, used for the "what follows" check in the parser.
KIND_FULL, KIND_ALIAS, KIND_SHORT, KIND_ROAD = "full", "alias", "short", "road"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One division a surface form may stand for."""

    division: Division
    strength: float
    kind: str
    needs_context: bool  # counts only when another mention names one of its ancestors


class Gazetteer:
    """Surface form → candidates, with a longest-first scan over a text."""

    def __init__(self, default_city: Division | None) -> None:
        self.default_city = default_city
        self.forms: dict[str, list[Candidate]] = {}
        self._lengths: dict[str, tuple[int, ...]] = {}
        self._chains: dict[str, frozenset[str]] = {}

    def add(self, form: str, candidate: Candidate) -> None:
        if len(form) < 2:
            return
        existing = self.forms.setdefault(form, [])
        for i, other in enumerate(existing):
            if other.division.key == candidate.division.key:
                if candidate.strength > other.strength:
                    existing[i] = candidate
                return
        existing.append(candidate)

    def freeze(self) -> None:
        # indexed by the first two characters (every form has at least two), so most
        # places in a text cost one look-up
        lengths: dict[str, set[int]] = {}
        for form in self.forms:
            lengths.setdefault(form[:2], set()).add(len(form))
        self._lengths = {c: tuple(sorted(ls, reverse=True)) for c, ls in lengths.items()}

    def lengths_at(self, text: str, i: int) -> tuple[int, ...]:
        """Lengths of the forms that could start at ``text[i]``, longest first."""
        return self._lengths.get(text[i : i + 2], ())

    def chain(self, division: Division) -> frozenset[str]:
        """Keys of the division and all its ancestors."""
        found = self._chains.get(division.key)
        if found is None:
            divisions = load_divisions()
            found = frozenset([division.key] + [d.key for d in divisions.ancestors(division)])
            self._chains[division.key] = found
        return found


def township_forms(name: str) -> list[tuple[str, float, str]]:
    """Short forms of a street/town name: (form, strength, kind), longest first.

    长寿路街道 → 长寿路 (road); 真如镇街道 → 真如镇, 真如; 曹杨新村街道 → 曹杨新村, 曹杨;
    川沙新镇 → 川沙; 华新镇 → 华新 (the core keeps two characters).
    """
    for suffix in _TOWNSHIP_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            base = name[: -len(suffix)]
            break
    else:
        return []
    if suffix == "街道" and base.endswith("路"):
        return [(base, ROAD, KIND_ROAD)]
    forms = [(base, SHORT, KIND_SHORT)]
    for inner in ("新村", "镇"):
        if base.endswith(inner) and len(base) - len(inner) >= 2:
            forms.append((base[: -len(inner)], SHORT, KIND_SHORT))
    return forms


def _word_frequencies(words: set[str]) -> dict[str, int]:
    """jieba's dictionary frequency of each word (0 when absent), read without loading jieba."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / "dict.txt"
    found: dict[str, int] = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            word, _, rest = line.partition(" ")
            if word in words:
                found[word] = int(rest.split(" ", 1)[0])
    return found


def _add_upper_levels(gazetteer: Gazetteer, default_city: Division | None) -> set[str]:
    """Provinces, cities and districts nationwide; returns every province/city form."""
    divisions = load_divisions()
    city_forms: set[str] = set()
    for division in divisions.all:
        if division.level == STREET:
            continue
        if division.level in (PROVINCE, CITY):
            gazetteer.add(division.name, Candidate(division, FULL, KIND_FULL, False))
            city_forms.add(division.name)
            for alias in division.aliases:
                if alias != division.name:
                    gazetteer.add(alias, Candidate(division, CITY_ALIAS, KIND_ALIAS, False))
                    city_forms.add(alias)
            continue
        in_default = default_city is not None and default_city.key in gazetteer.chain(division)
        # a two-character official name (城区, 郊区, 矿区) is too generic to trust alone
        generic = len(division.name) <= 2
        gazetteer.add(division.name, Candidate(division, FULL, KIND_FULL, generic))
        for alias in division.aliases:
            if alias != division.name:
                gazetteer.add(alias, Candidate(division, ALIAS, KIND_ALIAS, not in_default))
    return city_forms


def _add_streets(gazetteer: Gazetteer, default_city: Division | None, city_forms: set[str]) -> None:
    divisions = load_divisions()
    local: list[Division] = []
    for division in divisions.of_level(STREET):
        in_default = default_city is not None and default_city.key in gazetteer.chain(division)
        # streets elsewhere in China count only beside their city or district
        gazetteer.add(division.name, Candidate(division, FULL, KIND_FULL, not in_default))
        if in_default:
            local.append(division)
    shorts = [(d, form) for d in local for form in township_forms(d.name)]
    frequency = _word_frequencies({form for _, (form, _, _) in shorts})
    for division, (form, strength, kind) in shorts:
        common = frequency.get(form, 0) >= COMMON_WORD_FREQUENCY or form in city_forms
        gazetteer.add(form, Candidate(division, strength, kind, common))


@built_once
def load_gazetteer(default_city: str | None) -> Gazetteer:
    """The compiled gazetteer for a hotline whose own city is ``default_city`` (cached)."""
    divisions = load_divisions()
    city = None
    if default_city is not None:
        matches = divisions.named(default_city, CITY)
        if len(matches) != 1:
            raise ValueError(
                f"default_city {default_city!r} is not exactly one city in the division data "
                "(give the official name, e.g. 上海市)"
            )
        city = matches[0]
    gazetteer = Gazetteer(city)
    city_forms = _add_upper_levels(gazetteer, city)
    _add_streets(gazetteer, city, city_forms)
    gazetteer.freeze()
    return gazetteer


def level_of(division: Division) -> int:
    return (PROVINCE, CITY, DISTRICT, STREET).index(division.level)
