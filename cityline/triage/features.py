"""Words, character pairs and lexicon signals of an order: the features a trained model reads.

Chinese is segmented with rjieba (jieba's dictionary and algorithm in Rust,
about forty times faster than jieba in Python), taught the hotline's own words
("健康码", "封控", "见康码" ...) from the lexicon so they stay whole. Every pair
of neighbouring Chinese characters sits beside the words: pairs catch typos and
homophones that split differently ("和酸" for "核酸") and phrases the
segmenter cuts in odd places. Latin-script words are lower-cased; Cyrillic,
kana and Hangul are kept as the segmenter cuts them.

The lexicon's reading of the text is a feature too ("the lexicon's likeliest
category is EPI.SUPPLY", "a strong urgent word was heard"): the model learns
from labelled history how far to trust each of the lexicon's calls, and the
words teach it what the lexicon does not know.
"""

from __future__ import annotations

import re
from functools import lru_cache

import rjieba

from cityline.triage.lexicon import load_lexicon
from cityline.triage.rules import Reading

_CJK = re.compile(r"[\u4e00-\u9fff]{2,}")
_DIGITS = re.compile(r"\d{4,}")
_DOMAIN_WORD_FREQ = 20000
_STOP = frozenset(["的", "了", "是", "我", "你", "我们", "在", "就", "也", "都", "和", "啊", "呀", "吧", "嗯", "哦", "那", "这", "个", "有", "说", "the", "a", "an", "to", "of", "and"])
LEXICON_RANKS = 3  # the lexicon's three likeliest labels per field become features
STRONG_SCORE = 3.0  # a lexicon score this high is one strong word or several weaker ones


@lru_cache(maxsize=1)
def segmenter() -> rjieba.Jieba:
    """An rjieba segmenter that knows the lexicon's Chinese words (built once)."""
    jieba = rjieba.Jieba()
    lexicon = load_lexicon()
    for matcher in lexicon.matchers.values():
        for word in matcher.votes:
            if _CJK.fullmatch(word):
                jieba.add_word(word, _DOMAIN_WORD_FREQ, None)
    return jieba


def words(text: str) -> list[str]:
    """The text's words, lower-cased, without punctuation, spaces or filler particles."""
    cut = segmenter().cut(text.lower(), False)
    # Punctuation and spaces are not words (CJK characters count as alphanumeric).
    return [word for word in cut if (word[0].isalnum() or word[-1].isalnum()) and word not in _STOP]


def features(text: str, reading: Reading | None = None) -> set[str]:
    """Words and Chinese character pairs of ``text``, with long numbers folded, and (given the
    lexicon's ``reading`` of the text) the lexicon's signals."""
    lowered = _DIGITS.sub("0", text.lower())
    result = set(segmenter().cut(lowered, False))
    for run in _CJK.findall(lowered):
        result.update([run[i : i + 2] for i in range(len(run) - 1)])
    if reading is not None:
        result |= lexicon_signals(reading)
    return result


def lexicon_signals(reading: Reading) -> set[str]:
    """What the lexicon heard, as features: its likeliest labels per field, which of them are
    strong, whether the epidemic is named, whether the caller asks a question, ages."""
    signals = set()
    for field, found in reading.fields.items():
        ranked = sorted(((score, label) for label, score in found.scores.items() if score > 0), reverse=True)
        for rank, (score, label) in enumerate(ranked[:LEXICON_RANKS]):
            signals.add(f"lexicon:{field}:{label}" if rank == 0 else f"lexicon~{field}:{label}")
            if score >= STRONG_SCORE:
                signals.add(f"lexicon!{field}:{label}")
    if reading.epidemic_context:
        signals.add("lexicon:epidemic")
    if reading.question:
        signals.add("lexicon:question")
    signals.update(f"lexicon:age:{group}" for group in reading.age_groups)
    return signals
