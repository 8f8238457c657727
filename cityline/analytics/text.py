"""The terms an order is counted and clustered by. Pure.

An order's text becomes the set of its content words: Chinese cut by the shared
segmenter (``cityline.text``; accurate mode, so a word is counted once, not also
as the words inside it, and jieba's dictionary alone, no other package's words),
Latin-script words lower-cased with a light plural fold. What is dropped says
nothing about the caller's problem: punctuation, numbers, single characters, and
the frame every write-up shares ("市民来电反映", "诉求", "希望有关部门", greetings,
question words). Terms are computed once per order when it is exported for
analytics (``table.py``), so a briefing never segments text itself.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from cityline.text import FILLERS, QUESTION_WORDS, cut

_NUMBERISH = re.compile(r"^[\d.,:%\-/]+$")
_CJK = re.compile(r"[\u3400-\u9fff]")
FUNCTION_CHARACTERS = frozenset("的了是我你他她它在就也都和与啊呀吧嘛呢哦哈嗯吗么那这个有说要会把被给让对从到去来很还又才再"
                                "想问请能可得地着过为而叫啥咋呗哎喂诶")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# What a briefing does not count: the shared fillers and question words (cityline.text),
# and the frame of a hotline write-up beyond them: words of the process (处理, 回复, 部门),
# of time (今天, 小时) and stand-ins (问题, 情况, 东西). Present in every category, they
# only blur the problems; a search, on the other hand, needs them ("隔离多少小时").
FRAME_WORDS = FILLERS | QUESTION_WORDS | _words(
    "时候 问题 情况 有关 有关部门 相关 相关部门 部门 通过 热线 工单 12345 处理 解决 帮忙 帮助 看看 "
    "知道 不知道 一点 今天 昨天 明天 每天 上午 下午 晚上 早上 小时 时间 地方 东西 事情 说明 联系 回复 答复"
)


PLACE_WORDS = _words("街道 街镇 新区 城区 市区 上海市 本市")


def normalise(text: str) -> str:
    """Full-width forms to half-width, lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def terms(text: str | None, places: tuple[str | None, ...] = ()) -> list[str]:
    """The distinct content words of a text, in the order they first appear.

    Words that are part of the order's own place names (``places``: its district
    and street, "徐汇区" / "虹梅路街道") are left out: where an order comes from is
    counted by place, and a street name is not a problem callers share.
    """
    if not text:
        return []
    names = [name for name in places if name]
    seen: dict[str, None] = {}
    run = ""
    for word in [*cut(normalise(text)), ""]:
        if len(word) == 1 and _CJK.match(word):
            run += word
            continue
        # Characters the segmenter left alone ("是假的", "熔喷布" cut 熔/喷/布) still carry
        # meaning: their pairs are kept, unless both characters are function words.
        for pair in (run[i:i + 2] for i in range(len(run) - 1)):
            if not (pair[0] in FUNCTION_CHARACTERS and pair[1] in FUNCTION_CHARACTERS):
                _add(seen, pair, names)
        run = ""
        _add(seen, _keep(word.strip()), names)
    return list(seen)


def _add(seen: dict[str, None], term: str | None, names: list[str]) -> None:
    if term is not None and term not in PLACE_WORDS and not any(term in n for n in names):
        seen.setdefault(term, None)


@lru_cache(maxsize=200_000)
def _keep(word: str) -> str | None:
    if len(word) < 2 or word in FRAME_WORDS or _NUMBERISH.match(word):
        return None
    if not any(ch.isalnum() for ch in word):
        return None
    if word.isascii():
        if len(word) < 3:
            return None
        # A light English fold ("masks" -> "mask"); Chinese words are left alone.
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        return None if word in FRAME_WORDS else word
    return word


# Characters that make a two- or three-character segment a fragment of speech
# ("我先", "买的", "排了", "都赚", "几点") rather than a name for a problem.
SPEECH_CHARACTERS = frozenset("我你他她它的了吗吧呢嘛呀啊哦着过先都也就还很太别几啥么")

