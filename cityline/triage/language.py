"""Offline language detection for hotline orders.

Callers write in Chinese most of the time; an order in any other language goes
to the foreign-language seat queue. Scripts settle most cases at once (kana ->
Japanese, Hangul -> Korean, Cyrillic -> Russian ...). Text in the Latin script
is told apart by frequent short words and letters proper to each language,
which is reliable on sentences as short as a hotline order.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Frequent words that are rare in the other Latin-script languages we tell apart.
_STOPWORDS = {
    "en": "the a an and or is are was were be been i my me we our you your he she it they "
    "this that there have has had do does did not no can could would should will please "
    "help need with for from of to in on at by about what when where how why which who "
    "am get got since because but any some",
    "fr": "le la les un une des du de et ou est sont je j mon ma mes nous notre vous votre "
    "il elle ils elles ce cette ces pas ne avec pour dans sur par qui que quoi quand où "
    "comment pourquoi suis ai avons avez peux pouvez besoin aide merci au aux très depuis",
    "de": "der die das den dem des ein eine einen einem einer und oder ist sind war ich mein "
    "meine mich mir wir unser sie ihr er es nicht kein keine mit für von zu im in auf bei "
    "wie was wann wo warum wer bin habe haben hat kann können bitte hilfe brauche seit "
    "auch aber noch schon",
    "es": "el la los las un una unos unas y o es son era yo mi mis me nosotros nuestro usted "
    "su él ella ellos no con para por de del en sobre que qué cuando dónde cómo "
    "por qué quién soy estoy tengo tiene puedo puede necesito ayuda gracias muy desde hace pero",
    "it": "il lo la gli le un una e o è sono io mio mia mi noi nostro lei lui non con per da "
    "di del della in su che cosa quando dove come perché chi ho ha posso può aiuto grazie "
    "molto sto",
    "pt": "o a os as um uma e ou é são eu meu minha me nós nosso você ele ela eles não com "
    "para por de do da dos das em no na sobre que quando onde como porque quem sou estou "
    "tenho tem posso pode preciso ajuda obrigado obrigada muito",
    "nl": "de het een en of is zijn was ik mijn mij wij onze jij u hij zij niet geen met voor "
    "van naar in op bij wat wanneer waar hoe waarom wie ben heb hebben kan kunnen alstublieft "
    "hulp nodig ook maar",
}

# Letters that point to one language (weight per occurrence).
_LETTERS = {
    "de": "äöüß",
    "fr": "éèêëàâçîïôœùûÿ",
    "es": "ñ¿¡áíóú",
    "pt": "ãõâêôç",
    "it": "àèéìòù",
    "nl": "ĳ",
}
# Letters only Vietnamese uses (â, ê and ô are French too: "même", "arrêté", "côté").
_VIETNAMESE = re.compile(r"[ăđơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]")
_LATIN_WORD = re.compile(r"[a-zA-ZÀ-ɏ']+")


def detect_language(text: str) -> str:
    """The ISO 639-1 code of the text's language; "zh" for Chinese (also when empty)."""
    counts = _script_counts(text)
    han, kana, hangul = counts["han"], counts["kana"], counts["hangul"]
    latin_words = len(_LATIN_WORD.findall(text))
    if kana and kana >= 0.1 * (han + kana):
        return "ja"
    if hangul and hangul >= han:
        return "ko"
    # One Chinese character carries about as much as one word of a Latin-script language.
    others = {"ru": counts["cyrillic"], "ar": counts["arabic"], "th": counts["thai"]}
    best_other = max(others, key=others.__getitem__)
    if han and han >= latin_words and han * 2 >= others[best_other]:
        return "zh"
    if others[best_other] and others[best_other] >= 2 * latin_words:
        if best_other == "ru" and re.search(r"[іїєґ]", text.lower()):
            return "uk"
        return best_other
    if latin_words:
        return _latin_language(text.lower())
    return "zh"


_SCRIPTS = {
    "han": re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]"),
    "kana": re.compile(r"[\u3040-\u30ff\uff66-\uff9f]"),
    "hangul": re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]"),
    "cyrillic": re.compile(r"[\u0400-\u04ff]"),
    "arabic": re.compile(r"[\u0600-\u06ff]"),
    "thai": re.compile(r"[\u0e00-\u0e7f]"),
}
_NOT_HAN = re.compile(r"[\u3040-\u30ff\uff66-\uff9f\uac00-\ud7af\u1100-\u11ff\u3130-\u318f\u0400-\u04ff\u0600-\u06ff\u0e00-\u0e7f]")


def _script_counts(text: str) -> dict[str, int]:
    counts = {"han": len(_SCRIPTS["han"].findall(text))}
    if _NOT_HAN.search(text) is None:  # most orders: Chinese, maybe with Latin words
        counts.update(dict.fromkeys(("kana", "hangul", "cyrillic", "arabic", "thai"), 0))
        return counts
    for script, pattern in _SCRIPTS.items():
        if script != "han":
            counts[script] = len(pattern.findall(text))
    return counts


def _latin_language(lowered: str) -> str:
    if len(_VIETNAMESE.findall(lowered)) >= 2:
        return "vi"
    stopwords = _stopword_sets()
    scores = dict.fromkeys(stopwords, 0.0)
    for word in _LATIN_WORD.findall(lowered):
        for part in word.split("'"):
            for language, words in stopwords.items():
                if part in words:
                    scores[language] += 1.0
    for language, letters in _LETTERS.items():
        scores[language] += 0.5 * sum(lowered.count(letter) for letter in letters)
    best = max(scores, key=scores.__getitem__)
    # English is the default for Latin text with no evidence (names, codes, short words).
    return best if scores[best] > scores["en"] else "en"


@lru_cache(maxsize=1)
def _stopword_sets() -> dict[str, frozenset[str]]:
    return {language: frozenset(words.split()) for language, words in _STOPWORDS.items()}
