"""Place names written in other scripts: Latin ("Jing'an District", "Xinjing Town",
"Changshou Road"), Cyrillic ("Сюйхуэй") and Hangul ("민항구 홍차오진").

Forms are made from the division data with jionlp's pinyin and the standard spelling
rules in ``transliterate.py`` (no hand-typed names): the hotline's own districts and
streets, and every province and city of China. Built lazily the first time a text
with such letters is parsed.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from dataclasses import dataclass, field

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
from cityline.geo.transliterate import normalise_cyrillic, to_cyrillic, to_hangul
from cityline.once import built_once

_WORD = re.compile(r"[A-Za-zÜüА-Яа-яЁё]+(?:['’ʼ][A-Za-zА-Яа-яЁё]+)*")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_MAX_WORDS = 8
# Words after a short name that make it a road, a station or a landmark.
_BLOCKING_WORDS = frozenset(
    ["road", "rd", "lu", "avenue", "ave", "lane", "boulevard", "highway", "station", "metro", "airport", "park", "river", "bridge", "university", "hospital", "mall", "plaza", "hotel", "улица", "проспект", "станция", "аэропорт", "парк"]
)
_HANGUL_BLOCKERS = ("역", "공항", "공원", "대로", "대학", "병원")
# Russian case endings tried when a name is declined (в Пудуне, в Миньхане).
_RU_ENDINGS = ("ом", "ой", "ем", "е", "а", "у", "и", "ы")
_SUFFIXES = {
    PROVINCE: ("province", "sheng"),
    CITY: ("city", "shi"),
    DISTRICT: ("district", "qu", "county", "xian"),
}
_STREET_WORDS = ("subdistrict", "street", "jiedao", "streetoffice")
_TOWN_WORDS = {"镇": ("town", "zhen"), "乡": ("township", "xiang"), "新镇": ("newtown", "xinzhen")}
_HANGUL_SUFFIXES = {DISTRICT: ("구",), "镇": ("진",), "乡": ("향",), "街道": ("가도", "제다오")}


@dataclass
class ForeignForms:
    words: dict[str, list[Candidate]] = field(default_factory=dict)  # Latin and Cyrillic
    word_prefixes: set[str] = field(default_factory=set)  # every beginning of those forms
    hangul: dict[str, list[Candidate]] = field(default_factory=dict)
    hangul_lengths: dict[str, tuple[int, ...]] = field(default_factory=dict)


def _pinyin_function():
    """jionlp's pinyin (a process-wide object that builds its tables on first call, unlocked:
    call it only inside :func:`load_foreign_forms`, which one thread at a time runs)."""
    if "jionlp" not in sys.modules:
        # jionlp prints a banner on import; keep it off the caller's standard output. The
        # swap of sys.stdout is process-wide, so it must not run in two threads at once
        # (interleaved, they left sys.stdout pointing at a discarded buffer for good).
        with contextlib.redirect_stdout(io.StringIO()):
            import jionlp
    import jionlp

    return jionlp.pinyin


def _syllables(pinyin, chinese: str) -> list[str] | None:
    found = pinyin(chinese, formater="simple")
    if not found or any("<" in s for s in found):
        return None
    return [s.rstrip("012345").replace("ü", "v") for s in found]


def _base_of(division: Division) -> str:
    if division.aliases:
        return division.aliases[0]
    for suffix in ("新区", "区", "县", "市", "省"):
        if division.name.endswith(suffix) and len(division.name) - len(suffix) >= 2:
            return division.name[: -len(suffix)]
    return division.name


def _add(forms: dict[str, list[Candidate]], form: str, candidate: Candidate) -> None:
    existing = forms.setdefault(form, [])
    if form and all(c.division.key != candidate.division.key for c in existing):
        existing.append(candidate)


def _add_spellings(forms: ForeignForms, sounds: list[str], candidate: Candidate,
                   latin_words: tuple[str, ...] = ("",), hangul_words: tuple[str, ...] = ("",),
                   cyrillic: bool = True) -> None:
    """Add the Latin (with each ending word), Cyrillic and Hangul spellings of ``sounds``."""
    latin = "".join(sounds).replace("v", "u")
    for word in latin_words:
        _add(forms.words, latin + word, candidate)
    russian = to_cyrillic(sounds)
    if cyrillic and russian:
        _add(forms.words, normalise_cyrillic(russian), candidate)
    for korean in to_hangul(sounds):
        for word in hangul_words:
            if len(korean + word) >= 2:
                _add(forms.hangul, korean + word, candidate)


def _add_upper(forms: ForeignForms, pinyin, division: Division) -> None:
    sounds = _syllables(pinyin, _base_of(division))
    if not sounds:
        return
    strength = CITY_ALIAS if division.level != DISTRICT else ALIAS
    _add_spellings(forms, sounds, Candidate(division, strength, KIND_ALIAS, False))
    words = _SUFFIXES[division.level]
    if division.name.endswith("新区"):
        words += ("newarea", "newdistrict", "xinqu")
    hangul_words = _HANGUL_SUFFIXES.get(division.level, ())
    if division.name.endswith("新区"):
        hangul_words += ("신구",)
    full = Candidate(division, FULL, KIND_FULL, False)
    _add_spellings(forms, sounds, full, words, hangul_words, False)


def _add_street(forms: ForeignForms, pinyin, chinese: Gazetteer, street: Division) -> None:
    full = Candidate(street, FULL, KIND_FULL, False)
    for short, strength, kind in township_forms(street.name):
        sounds = _syllables(pinyin, short)
        if sounds is None:
            continue
        same = [c for c in chinese.forms.get(short, []) if c.division.key == street.key]
        needs_context = bool(same) and same[0].needs_context
        _add_spellings(forms, sounds, Candidate(street, strength, kind, needs_context))
        if kind == KIND_ROAD:
            road = sounds[:-1]
            for way in ("road", "lu"):
                _add_spellings(forms, road, Candidate(street, strength, KIND_ROAD, False),
                               (way,), ("루", "로"), False)
                _add_spellings(forms, road, full, tuple(way + w for w in _STREET_WORDS), (), False)
        suffix = street.name[len(short):]
        if suffix == "街道":
            _add_spellings(forms, sounds, full, _STREET_WORDS, _HANGUL_SUFFIXES["街道"], False)
            if short.endswith("镇"):
                town = [*sounds[:-1], "town"]
                _add_spellings(forms, town, full, ("", *_STREET_WORDS), (), False)
        elif suffix in _TOWN_WORDS:
            _add_spellings(forms, sounds, full, _TOWN_WORDS[suffix],
                           _HANGUL_SUFFIXES.get(suffix[-1:], ()), False)


@built_once
def load_foreign_forms(default_city: str | None) -> ForeignForms:
    """Spellings in other scripts → candidates, for a hotline in ``default_city``."""
    chinese = load_gazetteer(default_city)
    pinyin = _pinyin_function()
    forms = ForeignForms()
    local = chinese.default_city
    for division in load_divisions().all:
        in_default = local is not None and local.key in chinese.chain(division)
        if division.level in (PROVINCE, CITY) or (division.level == DISTRICT and in_default):
            _add_upper(forms, pinyin, division)
        elif division.level == STREET and in_default:
            _add_street(forms, pinyin, chinese, division)
    forms.word_prefixes = {form[:k] for form in forms.words for k in range(1, len(form))}
    lengths: dict[str, set[int]] = {}
    for form in forms.hangul:
        lengths.setdefault(form[0], set()).add(len(form))
    forms.hangul_lengths = {c: tuple(sorted(ls, reverse=True)) for c, ls in lengths.items()}
    return forms


def find_foreign_mentions(text: str, default_city: str | None) -> list[Mention]:
    """Place names written in Latin letters, Cyrillic or Hangul in ``text``."""
    forms = load_foreign_forms(default_city)
    mentions = _word_mentions(text, forms)
    if _HANGUL.search(text):
        mentions += _hangul_mentions(text, forms)
    return mentions


def _word_mentions(text: str, forms: ForeignForms) -> list[Mention]:
    words = [(_normalise(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]
    mentions: list[Mention] = []
    i, n = 0, len(words)
    while i < n:
        step = 1
        for j, found in reversed(_matches_from(words, i, forms)):
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


def _matches_from(words: list[tuple[str, int, int]], i: int, forms: ForeignForms):
    """(end word, candidates) for each run of words from ``i`` that spells a form."""
    found: list[tuple[int, list[Candidate]]] = []
    key = ""
    for j in range(i, min(len(words), i + _MAX_WORDS)):
        key += words[j][0]
        candidates = _lookup(forms.words, key)
        if candidates:
            found.append((j + 1, candidates))
        if key not in forms.word_prefixes:
            break
    return found


def _normalise(word: str) -> str:
    word = word.lower().replace("ü", "u")
    for mark in "'’ʼ":
        word = word.replace(mark, "")
    return normalise_cyrillic(word)


def _lookup(forms: dict[str, list[Candidate]], key: str) -> list[Candidate]:
    found = forms.get(key)
    if found is None and key[-1:] and "а" <= key[-1] <= "я":  # a declined Russian name
        for ending in _RU_ENDINGS:
            if key.endswith(ending) and (found := forms.get(key[: -len(ending)])):
                break
    return found or []


def _hangul_mentions(text: str, forms: ForeignForms) -> list[Mention]:
    mentions: list[Mention] = []
    i, n = 0, len(text)
    while i < n:
        step = 1
        for length in forms.hangul_lengths.get(text[i], ()):
            piece = text[i : i + length]
            found = forms.hangul.get(piece)
            if not found or len(piece) < length:
                continue
            after = text[i + length :].lstrip()
            kept = tuple(
                c for c in found
                if c.kind in (KIND_FULL, KIND_ROAD) or not after.startswith(_HANGUL_BLOCKERS)
            )
            if kept:
                mentions.append(Mention(i, i + length, piece, kept))
                step = length
                break
        i += step
    return mentions
