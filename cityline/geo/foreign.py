"""Place names written in Latin letters: "Jing'an District", "Xinjing Town", "Changshou Road".

Forms are made from the division data with jionlp's pinyin (no hand-typed names):
the hotline's own districts and streets, and every province and city of China.
Built lazily the first time a text with Latin letters is parsed.
"""

from __future__ import annotations

import contextlib
import io
import re
from functools import lru_cache

from cityline.geo.divisions import CITY, DISTRICT, PROVINCE, STREET, Division, load_divisions
from cityline.geo.gazetteer import (
    ALIAS,
    CITY_ALIAS,
    FULL,
    KIND_ALIAS,
    KIND_FULL,
    KIND_ROAD,
    Candidate,
    Gazetteer,
    load_gazetteer,
    township_forms,
)
from cityline.geo.scan import Mention

_WORD = re.compile(r"[A-Za-zÜü]+(?:['’][A-Za-z]+)*")
_MAX_WORDS = 8
# English words after a short name that make it a road, a station or a landmark.
_BLOCKING_WORDS = frozenset(
    ["road", "rd", "lu", "avenue", "ave", "lane", "boulevard", "highway", "station", "metro", "airport", "park", "river", "bridge", "university", "hospital", "mall", "plaza", "hotel"]
)
_SUFFIXES = {
    PROVINCE: ("province", "sheng"),
    CITY: ("city", "shi"),
    DISTRICT: ("district", "qu", "county", "xian"),
}
_STREET_WORDS = ("subdistrict", "street", "jiedao", "streetoffice")
_TOWN_WORDS = {"镇": ("town", "zhen"), "乡": ("township", "xiang"), "新镇": ("newtown", "xinzhen")}


def _pinyin_function():
    # jionlp prints a banner on import; keep it off the caller's standard output
    with contextlib.redirect_stdout(io.StringIO()):
        import jionlp
    return jionlp.pinyin


def _romanise(pinyin, chinese: str) -> str | None:
    syllables = pinyin(chinese, formater="simple")
    if not syllables or any("<" in s for s in syllables):
        return None
    return "".join(s.rstrip("012345") for s in syllables).replace("ü", "u").replace("v", "u")


def _base_of(division: Division) -> str:
    if division.aliases:
        return division.aliases[0]
    name = division.name
    for suffix in ("新区", "区", "县", "市", "省"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _add(forms: dict[str, list[Candidate]], form: str, candidate: Candidate) -> None:
    existing = forms.setdefault(form, [])
    if all(c.division.key != candidate.division.key for c in existing):
        existing.append(candidate)


def _street_forms(pinyin, chinese: Gazetteer, street: Division) -> list[tuple[str, Candidate]]:
    out: list[tuple[str, Candidate]] = []
    for short, strength, kind in township_forms(street.name):
        roman = _romanise(pinyin, short)
        if roman is None:
            continue
        same = [c for c in chinese.forms.get(short, []) if c.division.key == street.key]
        needs_context = bool(same) and same[0].needs_context
        out.append((roman, Candidate(street, strength, kind, needs_context)))
        full = Candidate(street, FULL, KIND_FULL, False)
        if kind == KIND_ROAD:
            road = _romanise(pinyin, short[:-1])
            if road:
                for way in ("road", "lu"):
                    out.append((road + way, Candidate(street, strength, KIND_ROAD, False)))
                    out += [(road + way + w, full) for w in _STREET_WORDS]
        if street.name.endswith("街道"):
            out += [(roman + w, full) for w in _STREET_WORDS]
            if short.endswith("镇"):
                out += [(roman[: -len("zhen")] + "town" + w, full) for w in ("", *_STREET_WORDS)]
        for suffix, words in _TOWN_WORDS.items():
            if street.name == short + suffix:
                out += [(roman + w, full) for w in words]
    return out


@lru_cache(maxsize=8)
def load_english_forms(default_city: str | None) -> dict[str, list[Candidate]]:
    """Romanised form (lower case, no spaces) → candidates."""
    chinese = load_gazetteer(default_city)
    pinyin = _pinyin_function()
    forms: dict[str, list[Candidate]] = {}
    divisions = load_divisions()
    local = chinese.default_city
    for division in divisions.all:
        in_default = local is not None and local.key in chinese.chain(division)
        if division.level in (PROVINCE, CITY) or (division.level == DISTRICT and in_default):
            roman = _romanise(pinyin, _base_of(division))
            if not roman:
                continue
            alias = CITY_ALIAS if division.level != DISTRICT else ALIAS
            _add(forms, roman, Candidate(division, alias, KIND_ALIAS, False))
            words = _SUFFIXES[division.level]
            if division.name.endswith("新区"):
                words += ("newarea", "newdistrict", "xinqu")
            for word in words:
                _add(forms, roman + word, Candidate(division, FULL, KIND_FULL, False))
        elif division.level == STREET and in_default:
            for form, candidate in _street_forms(pinyin, chinese, division):
                _add(forms, form, candidate)
    return forms


def find_english_mentions(text: str, default_city: str | None) -> list[Mention]:
    """Place names in the Latin-letter parts of ``text``, longest run of words first."""
    forms = load_english_forms(default_city)
    words = [
        (m.group().lower().replace("'", "").replace("’", "").replace("ü", "u"), m.start(), m.end())
        for m in _WORD.finditer(text)
    ]
    mentions: list[Mention] = []
    i, n = 0, len(words)
    while i < n:
        step = 1
        for j in range(min(n, i + _MAX_WORDS), i, -1):
            found = forms.get("".join(w for w, _, _ in words[i:j]))
            if not found:
                continue
            following = words[j][0] if j < n else ""
            kept = tuple(
                c for c in found
                if c.kind in (KIND_FULL, KIND_ROAD) or following not in _BLOCKING_WORDS
            )
            if kept:
                start, end = words[i][1], words[j - 1][2]
                mentions.append(Mention(start, end, text[start:end], kept))
                step = j - i
                break
        i += step
    return mentions
