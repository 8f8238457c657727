"""Finding the place names in a text (mentions), before deciding what they mean.

Pure functions over a compiled :class:`~cityline.geo.gazetteer.Gazetteer`: a
left-to-right, longest-first scan, with a check of what follows each short form so
that road names built from place names (南京路, 嘉定路, 西藏中路) are not read as places.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cityline.geo.divisions import DISTRICT, jionlp_dictionary_dir
from cityline.geo.gazetteer import (
    KIND_ALIAS,
    KIND_FULL,
    KIND_ROAD,
    Candidate,
    Gazetteer,
)
from cityline.once import built_once

# What follows a district written without 区 and makes it a road instead: 嘉定路, 青浦路.
ROAD_FOLLOWERS = ("路", "东路", "西路", "南路", "北路", "中路", "大道", "公路", "大街", "弄", "巷")
# What follows a short city or street name and makes it a road, a landmark or a
# station instead: 南京东路, 北京站, 中山公园, 徐家汇站, 虹桥机场, 苏州河.
LANDMARK_FOLLOWERS = ROAD_FOLLOWERS + (
    "街", "公园", "大桥", "机场", "站", "火车站", "地铁站", "大学", "医院", "中学", "小学",
    "商场", "广场", "大厦", "饭店", "酒店", "宾馆", "号线", "河", "江",
)


@dataclass(frozen=True, slots=True)
class Mention:
    """A piece of the text that names a division (possibly one of several)."""

    start: int
    end: int
    text: str
    candidates: tuple[Candidate, ...]


def _blocked(text: str, end: int, candidate: Candidate) -> bool:
    """True when what follows turns this short form into a road or landmark name."""
    if candidate.kind in (KIND_FULL, KIND_ROAD):
        return False
    if text.startswith("街道", end):
        return False
    is_district = candidate.division.level == DISTRICT
    followers = ROAD_FOLLOWERS if candidate.kind == KIND_ALIAS and is_district else LANDMARK_FOLLOWERS
    return text.startswith(followers, end)


def find_mentions(text: str, gazetteer: Gazetteer) -> list[Mention]:
    """Division names in ``text``, in text order, without overlaps.

    Every place in the text proposes its longest form; where two proposals overlap,
    the one that can stand alone wins, then the longer one: in 临港南汇新城 the district
    alias 港南 (a district of 贵港市, which needs its city named) gives way to 南汇新城.
    """
    proposals: list[Mention] = []
    forms = gazetteer.forms
    n = len(text)
    for i in range(n):
        for length in gazetteer.lengths_at(text, i):
            if i + length > n:
                continue
            piece = text[i : i + length]
            found = forms.get(piece)
            if found is None:
                continue
            kept = tuple(c for c in found if not _blocked(text, i + length, c))
            if kept:
                proposals.append(Mention(i, i + length, piece, kept))
                break
    proposals.sort(key=_preference)
    taken = [False] * n
    chosen: list[Mention] = []
    for mention in proposals:
        if not any(taken[mention.start : mention.end]):
            chosen.append(mention)
            taken[mention.start : mention.end] = [True] * (mention.end - mention.start)
    chosen.sort(key=lambda m: m.start)
    return chosen


def _preference(mention: Mention) -> tuple[bool, int, int]:
    stands_alone = any(not c.needs_context for c in mention.candidates)
    return (not stands_alone, -(mention.end - mention.start), mention.start)


@built_once
def traditional_to_simplified() -> dict[int, str]:
    """A str.translate table from jionlp's one-to-one traditional → simplified characters.

    Lets 長寧区 (traditional or Japanese writing) be read as 长宁区. Offsets in the text
    do not move, so matched pieces can be cut from the original.
    """
    path: Path = jionlp_dictionary_dir() / "tra2sim_char.txt"
    table: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and len(parts[0]) == 1 and len(parts[1]) == 1:
            table[ord(parts[0])] = parts[1]
    return table
