"""Parsing free-text addresses and order texts into province / city / district / street.

How a text is read:
1. find every piece that names a division (:func:`cityline.geo.scan.find_mentions`);
2. each candidate division proposes a reading: itself and its ancestors (a chain);
3. a chain scores the evidence that agrees with it: each mention adds the strength of
   its best candidate on the chain, and the hotline's own city adds a little;
4. the best chain wins. When several chains score the same, only the levels they all
   share are kept — "unknown rather than guess": 虹桥 alone is 长宁区虹桥街道 or 闵行区
   虹桥镇, so it gives 上海市 and no district.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from cityline.geo.divisions import CITY, DISTRICT, PROVINCE, STREET, Division, load_divisions
from cityline.geo.foreign import find_foreign_mentions
from cityline.geo.gazetteer import DEFAULT_CITY, Candidate, Gazetteer, load_gazetteer
from cityline.geo.scan import Mention, find_mentions, traditional_to_simplified

# letters of another script worth a look by foreign.py: Latin, Cyrillic, Hangul
_FOREIGN = re.compile(r"[A-Za-zА-Яа-яЁё]{3}|[\uac00-\ud7a3]{2}")
_TIE = 1e-9


@dataclass(frozen=True)
class Place:
    """Where an order is, as far as its text tells (None: not determined)."""

    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    confidence: float = 0.0  # 0..1
    matched: list[str] = field(default_factory=list)  # pieces of text that gave the levels

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Reading:
    """One chain of divisions and the evidence for it."""

    leaf: Division
    chain: frozenset[str]
    score: float = 0.0
    # division key → (strength, start, end) of the best evidence for it
    support: dict[str, tuple[float, int, int]] = field(default_factory=dict)


def parse_address(text: str, default_city: str | None = "上海市") -> Place:
    """Read the place in ``text`` (an address or a whole order text).

    ``default_city`` is the hotline's own city (official name): it settles ties in its
    favour ("普陀区" is in 上海市 as well as 舟山市) and lets its districts and streets be
    named without their city. Levels that cannot be told unambiguously are None.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_address expects a str, got {type(text).__name__}")
    gazetteer = load_gazetteer(default_city)
    simplified = text.translate(traditional_to_simplified())
    mentions = find_mentions(simplified, gazetteer)
    if _FOREIGN.search(text):
        mentions += find_foreign_mentions(text, default_city)
    if not mentions:
        return Place()
    readings = [_score(leaf, mentions, gazetteer) for leaf in _leaves(mentions)]
    readings = [r for r in readings if r.score > DEFAULT_CITY + _TIE]
    if not readings:
        return Place()
    readings.sort(key=lambda r: r.score, reverse=True)
    best = readings[0].score
    tied = [r for r in readings if r.score >= best - _TIE]
    shared = _shared_divisions(tied)
    if not shared:
        return Place()
    # a rival is a reading that contradicts the result (not one that merely stops higher up)
    kept = {d.key for d in shared}
    rival = max((r.score for r in readings if not r.chain <= kept and shared[-1].key not in r.chain),
                default=0.0)
    return _place(shared, readings[0], best, rival, text)


def _leaves(mentions: list[Mention]) -> list[Division]:
    seen: dict[str, Division] = {}
    for mention in mentions:
        for candidate in mention.candidates:
            seen.setdefault(candidate.division.key, candidate.division)
    return list(seen.values())


def _score(leaf: Division, mentions: list[Mention], gazetteer: Gazetteer) -> _Reading:
    reading = _Reading(leaf, gazetteer.chain(leaf))
    # first the evidence that counts on its own, then short forms that need a named ancestor
    supported: set[str] = set()
    pending: list[tuple[Mention, Candidate]] = []
    for mention in mentions:
        on_chain = [c for c in mention.candidates if c.division.key in reading.chain]
        alone = [c for c in on_chain if not c.needs_context]
        if alone:
            best = max(alone, key=lambda c: c.strength)
            _count(reading, mention, best)
            supported.add(best.division.key)
        elif on_chain:
            pending.append((mention, max(on_chain, key=lambda c: c.strength)))
    for mention, candidate in pending:
        ancestors = gazetteer.chain(candidate.division) - {candidate.division.key}
        if ancestors & supported:
            _count(reading, mention, candidate)
    if gazetteer.default_city is not None and gazetteer.default_city.key in reading.chain:
        reading.score += DEFAULT_CITY
    return reading


def _count(reading: _Reading, mention: Mention, candidate: Candidate) -> None:
    reading.score += candidate.strength
    key = candidate.division.key
    if key not in reading.support or reading.support[key][0] < candidate.strength:
        reading.support[key] = (candidate.strength, mention.start, mention.end)


def _shared_divisions(readings: list[_Reading]) -> list[Division]:
    """The divisions, from the province down, on which all tied readings agree."""
    divisions = load_divisions()
    paths = [[*reversed(divisions.ancestors(r.leaf)), r.leaf] for r in readings]
    shared: list[Division] = []
    for level_items in zip(*paths, strict=False):
        if all(d.key == level_items[0].key for d in level_items):
            shared.append(level_items[0])
        else:
            break
    return shared


def _place(shared: list[Division], best: _Reading, score: float, rival: float, text: str) -> Place:
    names = {d.level: d.name for d in shared}
    # the reading's support, for the levels kept, in the order the text gives them
    spans = sorted({best.support[d.key][1:] for d in shared if d.key in best.support})
    matched = [text[start:end] for start, end in spans]
    deepest = next((best.support[d.key][0] for d in reversed(shared) if d.key in best.support), 0.5)
    margin = 1.0 - rival / (2.0 * score) if score else 0.0
    return Place(
        province=names.get(PROVINCE),
        city=names.get(CITY),
        district=names.get(DISTRICT),
        street=names.get(STREET),
        confidence=round(max(0.0, min(1.0, deepest * margin)), 3),
        matched=matched,
    )
