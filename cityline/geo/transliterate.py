"""Pinyin syllables written in Cyrillic (Palladius) and in Hangul (Korean standard rules).

Foreign callers write Shanghai places as they read them in their own news: 徐汇 is
"Сюйхуэй" in Russian and "쉬후이" in Korean. These are the standard conversion
rules for Mandarin syllables (toneless pinyin in, e.g. "xu", "hui"), not a list of
place names: the names themselves come from the division data.
"""

from __future__ import annotations

# ---- Russian (Palladius) -------------------------------------------------------------

_RU_INITIALS = {
    "zh": "чж", "ch": "ч", "sh": "ш", "b": "б", "p": "п", "m": "м", "f": "ф", "d": "д",
    "t": "т", "n": "н", "l": "л", "g": "г", "k": "к", "h": "х", "j": "цз", "q": "ц",
    "x": "с", "r": "ж", "z": "цз", "c": "ц", "s": "с",
}
_RU_FINALS = {
    "a": "а", "o": "о", "e": "э", "ai": "ай", "ei": "эй", "ao": "ао", "ou": "оу",
    "an": "ань", "en": "энь", "ang": "ан", "eng": "эн", "ong": "ун", "er": "эр",
    "i": "и", "ia": "я", "ie": "е", "iao": "яо", "iu": "ю", "ian": "янь", "in": "инь",
    "iang": "ян", "ing": "ин", "iong": "юн", "u": "у", "ua": "уа", "uo": "о", "uai": "уай",
    "ui": "уй", "uan": "уань", "un": "унь", "uang": "уан", "ue": "юэ", "v": "юй",
    "ve": "юэ", "van": "юань", "vn": "юнь",
}
_RU_WHOLE = {
    "yi": "и", "ya": "я", "ye": "е", "yao": "яо", "you": "ю", "yan": "янь", "yin": "инь",
    "yang": "ян", "ying": "ин", "yong": "юн", "yu": "юй", "yue": "юэ", "yuan": "юань",
    "yun": "юнь", "wu": "у", "wa": "ва", "wo": "во", "wai": "вай", "wei": "вэй",
    "wan": "вань", "wen": "вэнь", "wang": "ван", "weng": "вэн", "hui": "хуэй",
    "zi": "цзы", "ci": "цы", "si": "сы",
}


def _split(syllable: str) -> tuple[str, str]:
    """Initial and final of a toneless pinyin syllable; ü (written v or u) as v."""
    for size in (2, 1):  # zh, ch, sh before z, c, s
        head = syllable[:size]
        if head in _RU_INITIALS:
            initial, final = head, syllable[size:]
            if initial in ("j", "q", "x") and final.startswith("u"):
                final = "v" + final[1:]
            return initial, final.replace("ü", "v")
    return "", syllable.replace("ü", "v")


def to_cyrillic(syllables: list[str]) -> str | None:
    """Palladius spelling of toneless pinyin syllables (None if one is not a syllable)."""
    out = []
    for syllable in syllables:
        if syllable in _RU_WHOLE:
            out.append(_RU_WHOLE[syllable])
            continue
        initial, final = _split(syllable)
        if final not in _RU_FINALS:
            return None
        out.append(_RU_INITIALS.get(initial, "") + _RU_FINALS[final])
    return "".join(out)


def normalise_cyrillic(text: str) -> str:
    """Lower case, ё as е, hard and soft signs dropped (Цзинъань, Цзиньшань vary in them)."""
    return text.lower().replace("ё", "е").replace("ъ", "").replace("ь", "")


# ---- Korean (국립국어원 중국어 표기법) ---------------------------------------------------

_KO_INITIALS = {  # choseong index in the Hangul syllable block
    "b": 7, "p": 17, "m": 6, "f": 17, "d": 3, "t": 16, "n": 2, "l": 5, "g": 0, "k": 15,
    "h": 18, "j": 12, "q": 14, "x": 9, "zh": 12, "ch": 14, "sh": 9, "r": 5, "z": 13,
    "c": 14, "s": 10, "": 11,
}
# final → syllables as (vowel index, final-consonant index); the first takes the initial
_A, _AE, _YA, _EO, _E, _YE, _O, _WA, _YO, _U, _WEO, _WE, _WI, _YU, _EU, _I = (
    0, 1, 2, 4, 5, 7, 8, 9, 12, 13, 14, 15, 16, 17, 18, 20)
_N, _NG, _L = 4, 21, 8
_KO_FINALS: dict[str, list[tuple[int, int]]] = {
    "a": [(_A, 0)], "o": [(_O, 0)], "e": [(_EO, 0)], "ai": [(_A, 0), (_I, 0)],
    "ei": [(_E, 0), (_I, 0)], "ao": [(_A, 0), (_O, 0)], "ou": [(_EO, 0), (_U, 0)],
    "an": [(_A, _N)], "en": [(_EO, _N)], "ang": [(_A, _NG)], "eng": [(_EO, _NG)],
    "ong": [(_U, _NG)], "er": [(_EO, _L)], "i": [(_I, 0)], "ia": [(_YA, 0)],
    "ie": [(_YE, 0)], "iao": [(_YA, 0), (_O, 0)], "iu": [(_YU, 0)], "ian": [(_YE, _N)],
    "in": [(_I, _N)], "iang": [(_YA, _NG)], "ing": [(_I, _NG)], "iong": [(_YU, _NG)],
    "u": [(_U, 0)], "ua": [(_WA, 0)], "uo": [(_WEO, 0)], "uai": [(_WA, 0), (_I, 0)],
    "ui": [(_U, 0), (_I, 0)], "uan": [(_WA, _N)], "un": [(_U, _N)], "uang": [(_WA, _NG)],
    "v": [(_WI, 0)], "ve": [(_WE, 0)], "van": [(_WI, 0), (_A, _N)], "vn": [(_WI, _N)],
}
_KO_WHOLE = {
    "yi": [(11, _I, 0)], "ya": [(11, _YA, 0)], "ye": [(11, _YE, 0)],
    "yao": [(11, _YA, 0), (11, _O, 0)], "you": [(11, _YU, 0)], "yan": [(11, _YE, _N)],
    "yin": [(11, _I, _N)], "yang": [(11, _YA, _NG)], "ying": [(11, _I, _NG)],
    "yong": [(11, _YU, _NG)], "yu": [(11, _WI, 0)], "yue": [(11, _WE, 0)],
    "yuan": [(11, _WI, 0), (11, _A, _N)], "yun": [(11, _WI, _N)], "wu": [(11, _U, 0)],
    "wa": [(11, _WA, 0)], "wo": [(11, _WEO, 0)], "wai": [(11, _WA, 0), (11, _I, 0)],
    "wei": [(11, _WE, 0), (11, _I, 0)], "wan": [(11, _WA, _N)], "wen": [(11, _WEO, _N)],
    "wang": [(11, _WA, _NG)], "weng": [(11, _WEO, _NG)],
}
# After ㅈ ㅉ ㅊ the glide drops (jia → 자, jie → 제, jiu → 주); after the retroflex and
# dental sibilants i is ㅡ (zhi → 즈, si → 쓰).
_KO_DEGLIDE = {_YA: _A, _YE: _E, _YU: _U, _YO: _O}


def _hangul(initial: int, vowel: int, final: int) -> str:
    return chr(0xAC00 + (initial * 21 + vowel) * 28 + final)


def to_hangul(syllables: list[str]) -> list[str]:
    """Korean spellings of toneless pinyin syllables: the standard one, and the common
    variant with ㅗ for -ong (홍차오 beside the standard 훙차오). Empty if not syllables."""
    spellings = [""]
    for syllable in syllables:
        parts = _ko_syllable(syllable)
        if parts is None:
            return []
        text = "".join(_hangul(*p) for p in parts)
        variants = [text]
        if syllable.endswith("ong") and not syllable.endswith("iong"):
            variants.append("".join(_hangul(i, _O if v == _U else v, f) for i, v, f in parts))
        spellings = [s + v for s in spellings for v in variants]
    return spellings


def _ko_syllable(syllable: str) -> list[tuple[int, int, int]] | None:
    if syllable in _KO_WHOLE:
        return list(_KO_WHOLE[syllable])
    initial, final = _split(syllable)
    if initial not in _KO_INITIALS or final not in _KO_FINALS:
        return None
    first, *rest = _KO_FINALS[final]
    vowel, coda = first
    if initial in ("zh", "ch", "sh", "r", "z", "c", "s") and final == "i":
        vowel = _EU
    if initial in ("j", "q", "zh", "ch", "z", "c") and vowel in _KO_DEGLIDE:
        vowel = _KO_DEGLIDE[vowel]
    parts = [(_KO_INITIALS[initial], vowel, coda)]
    parts += [(11, v, f) for v, f in rest]  # later syllables start with silent ㅇ
    return parts
