"""The terms an order is counted and clustered by. Pure.

An order's text becomes the set of its content words: Chinese segmented with
rjieba (plain mode, so a word is counted once, not also as the words inside it),
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

import rjieba

from cityline.once import built_once

_NUMBERISH = re.compile(r"^[\d.,:%\-/]+$")
_CJK = re.compile(r"[\u3400-\u9fff]")
FUNCTION_CHARACTERS = frozenset("的了是我你他她它在就也都和与啊呀吧嘛呢哦哈嗯吗么那这个有说要会把被给让对从到去来很还又才再"
                                "想问请能可得地着过为而叫啥咋呗哎喂诶")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# The frame of a hotline write-up, spoken fillers, pronouns, question words and
# verbs of asking: present in every category, so they only blur the problems.
FRAME_WORDS = _words(
    "市民 来电 来电人 来电市民 反映 反应 诉求 诉求为 希望 请求 要求 请 告知 你好 您好 喂 谢谢 麻烦 拜托 "
    "一下 什么 时候 现在 已经 我们 你们 他们 她们 自己 这个 那个 这些 那些 这样 那样 这里 那里 "
    "问题 情况 有关 有关部门 相关 相关部门 部门 咨询 询问 问问 表示 目前 因为 所以 但是 可是 如果 "
    "没有 可以 不能 需要 怎么 怎么办 哪里 哪儿 能不能 是否 是不是 有没有 为什么 怎样 如何 多少 "
    "还是 还有 然后 就是 而且 或者 以及 一个 一些 一直 非常 比较 特别 真的 实在 到底 其实 "
    "通过 热线 工单 12345 处理 解决 帮忙 帮助 看看 知道 不知道 应该 可能 觉得 感觉 一点 "
    "今天 昨天 明天 每天 上午 下午 晚上 早上 小时 时间 地方 东西 事情 说明 联系 回复 答复 "
    "the and for with that this are was were have has had not but you your our their from "
    "about please hello thanks thank would could should what when where which who how can "
    "there been into they them than then also just very"
)


PLACE_WORDS = _words("街道 街镇 新区 城区 市区 上海市 本市")


@built_once
def segmenter() -> rjieba.Jieba:
    """One rjieba segmenter per process (its dictionary loads once)."""
    return rjieba.Jieba()


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
    for word in [*segmenter().cut(normalise(text), False), ""]:
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


def headline(keywords: list[str] | tuple[str, ...], size: int = 3) -> list[str]:
    """The words a briefing's title shows: content words before fragments of speech,
    each group in the given (most distinctive first) order."""
    content = [k for k in keywords if not SPEECH_CHARACTERS.intersection(k)]
    speech = [k for k in keywords if SPEECH_CHARACTERS.intersection(k)]
    return (content + speech)[:size]
