"""Words and character pairs of an order, the features a trained model reads.

Chinese is segmented with rjieba (jieba's dictionary and algorithm in Rust,
about forty times faster than jieba in Python), taught the hotline's own words
("健康码", "封控", "见康码" ...) from the lexicon so they stay whole. Character
bigrams sit beside the words: they catch typos and homophones that split
differently ("和酸" for "核酸"). Latin-script words are lower-cased; Cyrillic,
kana and Hangul are kept as the segmenter cuts them.
"""

from __future__ import annotations

import re
from functools import lru_cache

import rjieba

from cityline.triage.lexicon import load_lexicon

_CJK = re.compile(r"[\u4e00-\u9fff]{2,}")
_DIGITS = re.compile(r"\d{4,}")
_DOMAIN_WORD_FREQ = 20000
_STOP = frozenset(["的", "了", "是", "我", "你", "我们", "在", "就", "也", "都", "和", "啊", "呀", "吧", "嗯", "哦", "那", "这", "个", "有", "说", "the", "a", "an", "to", "of", "and"])


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


def features(text: str) -> set[str]:
    """Words, plus character bigrams where the segmenter found no word, with long numbers folded.

    A typo or a dialect word ("和酸" for "核酸", "搿个") falls apart into single
    characters; the bigrams of those runs keep it recognisable. Elsewhere the
    words carry the meaning and bigrams would only cost time.
    """
    tokens = segmenter().cut(_DIGITS.sub("0", text.lower()), False)
    result = set(tokens)
    run = ""
    for token in tokens:
        if len(token) == 1 and "\u4e00" <= token <= "\u9fff":
            run += token
            continue
        if len(run) > 1:
            result.update([run[i : i + 2] for i in range(len(run) - 1)])
        run = ""
    if len(run) > 1:
        result.update([run[i : i + 2] for i in range(len(run) - 1)])
    return result
