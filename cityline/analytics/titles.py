"""Titles a reader can read: a short sentence drawn from one of a problem's own orders.

A problem found in the texts (``discover.py``) or an emerging issue (``emerging.py``)
is known by its distinctive terms ("排队、门口、几点"); a leader reading the briefing
needs a sentence ("市民反映药店排队数小时购买口罩"). The sentence is extracted, not
written: among the problem's most central orders, every clause (the text cut at
punctuation) is scored by how many of the problem's orders use its words (the
share of the problem's orders using each of its terms, summed), and the best
clause becomes the title, after what says nothing about the problem is taken off:

- the write-up's frame and the caller's framing ("市民来电反映：", "诉求：", "其在",
  "我想问一下", greetings), by whole words of the shared segmenter;
- places (the names of the city's districts and streets the export knows, and the
  compound or road named at a clause's start or before "某…": "欣园小区某超市");
- clauses holding digits (phone numbers, house numbers, money) are not used.

What is left is made of whole words of one real order's sentence, in its order;
too long a clause gives its best window of consecutive words. The verb follows
what the clause does: 反映 (a report), 咨询 (a question), 希望 / 要求 / 举报 (a
demand). When no clause is good enough the title is a template over the
problem's dictionary words ("市民反映供应、保障等问题"), never over character
pairs ("其对"), which the terms keep but a reader cannot read.

Each title comes with its quoted example: the order it was drawn from, its text
without the write-up's frame, shortened, personal data masked.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

from cityline.analytics.text import FUNCTION_CHARACTERS, SPEECH_CHARACTERS, normalise, terms
from cityline.privacy import mask_text
from cityline.text import FILLERS, cut, segmenter

CORE_MAX = 16  # characters of the extracted clause; with its verb a title stays within ~20
CORE_MIN = 4
EXAMPLE_MAX = 60  # characters of a quoted example
CANDIDATES = 8  # central orders per problem whose clauses are read

_CLAUSES = re.compile(r"[，。；！？,;!?\n\r…]+|\s{2,}")
_NUMBERED_PLACE = re.compile(r"^[一二三四五六七八九十]+(村|期|街坊|小区)$")  # "锦绣|一村", its name cut off
_DIGITS = re.compile(r"[0-9０-９]")
_BRACKETED = re.compile(r"^[【\[（(][^】\]）)]{0,12}[】\]）)]")
# The head of a write-up: "市民来电反映：", "来电人称，", "诉求为：" … up to its colon or comma.
_FRAME_HEAD = re.compile(r"^[^，。：:,]{0,12}?(反映|反应|来电|致电|称|表示|诉求为|诉求|要求|留言)[^，。：:,]{0,3}[：:，,]")



def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that open a clause without saying anything about the problem: the frame, the
# caller's framing, greetings, and the first person.
LEAD_WORDS = FILLERS | _words(
    "市民 来电 来电人 来电市民 反映 反应 致电 诉求 诉求为 现 现来电 其 其在 本人 我们 我们这边 你好 您好 喂 "
    "侬好 那个 就是 说实话 请 请问 想 想问 想问问 问一下 想问一下 咨询 咨询一下 想咨询 想咨询一下 通过 热线 "
    "这边 那边 附近 所在 居住地 住所 某 一下 是 在 我 有 称 表示 现在 另外 还有 然后 因为 所以")
# Words a clause should not end on.
TAIL_WORDS = FILLERS | _words(
    "的 了 吗 呢 吧 啊 呀 和 与 及 以及 在 是 有 就 也 都 还 又 等 一下 一点 这个 那个 啥 么 不 还不 具体 "
    # words that wait for what follows: a title must not stop on them ("一律不得")
    "不得 不能 无法 不要 不让 不准 禁止 一律 仍 仍然 被 把 让 给 对 向 从 到 要 会 能 可以 已 已经 正在")
# What a question clause ends on that the title does not need: "申领条件是什么" -> "申领条件".
QUESTION_TAILS = ("是什么", "有哪些", "是怎么样", "怎么样", "怎么办", "怎么处理", "怎么办理", "是多少",
                  "是不是真的", "是真的吗", "吗", "呢")
# A question's tail that ends on its topic: "隔离具体是怎么规定的" -> "隔离具体规定".
TOPIC_TAILS = {"是怎么规定的": "规定", "怎么规定的": "规定"}
PLACE_SUFFIXES = ("区", "县", "镇", "乡", "街道", "路", "街", "弄", "号", "村", "苑", "小区", "新村", "花园",
                  "公寓", "大厦", "广场", "家园", "佳苑", "名邸", "城")
QUESTION_OPENERS = ("请问", "想问", "咨询", "想咨询", "想了解", "问一下")
QUESTION_MARKS = ("吗", "什么", "怎么", "哪里", "哪些", "多少", "能否", "能不能", "是否", "有没有", "多久", "几点",
                  "要不要", "需不需要", "哪个", "可不可以", "会不会")
DEMANDS = {"希望": "希望", "要求": "要求", "请": "要求", "建议": "建议", "举报": "举报", "投诉": "投诉"}
PLACE_WORDS = frozenset(("小区", "新村", "花园", "公寓", "家园", "大厦", "广场"))
NEGATIONS = frozenset("不没未无非别勿")  # a single character a clause may start with: it turns the meaning
PLACE_LEAD = 6  # words at a clause's start where a place name is looked for
WINDOW_PENALTY = 0.75  # a whole clause reads better than a window cut from a longer one


@dataclass(frozen=True)
class Candidate:
    """One order a title may be drawn from: its number, its text, and the pieces of place names
    (``place_parts``) its title must not keep."""

    number: str
    text: str
    places: frozenset[str] = frozenset()


def place_parts(names: Iterable[str | None]) -> frozenset[str]:
    """Every piece of two characters or more of the place names ("虹梅路街道": "虹梅", "虹梅路" …), so
    a name is known however the segmenter cuts it. The city's own names, not the address parser's:
    loading that costs seconds a briefing run from the command line would wait for."""
    return frozenset(name[i:j] for name in names if name
                     for i in range(len(name)) for j in range(i + 2, len(name) + 1))


@dataclass(frozen=True)
class Title:
    title: str
    order_id: str | None  # the order the sentence and the example come from (None: a template)
    example: str | None  # its text, shortened, personal data masked

    def example_json(self) -> dict | None:
        return {"order_id": self.order_id, "text": self.example} if self.order_id else None


def title_for(candidates: Sequence[Candidate], member_terms: Sequence[Sequence[str]],
              keywords: Sequence[str], subject: str = "市民") -> Title:
    """The title of a problem: the best clause of its ``candidates`` (most central first),
    scored by ``member_terms`` (the terms of every order of the problem); else a template
    over ``keywords``. ``subject`` opens the sentence ("市民", or "徐汇区市民")."""
    share = _shares(member_terms)
    known = [k for k in keywords if _readable_word(k)]
    best: tuple[float, int, Candidate, str, str] | None = None
    for rank, candidate in enumerate(candidates[:CANDIDATES]):
        for verb, core, weight in _cores(candidate, known):
            score = weight * sum(share.get(t, 0.0) for t in terms(core))
            if score <= 0 or not any(k in core for k in known):
                continue
            key = (score, -rank)
            if best is None or key > (best[0], best[1]):
                best = (score, -rank, candidate, verb, core)
    if best is not None:
        _, _, candidate, verb, core = best
        return Title(f"{subject}{verb}{core}", candidate.number, quote(candidate.text))
    return Title(template(keywords, subject), candidates[0].number if candidates else None,
                 quote(candidates[0].text) if candidates else None)


def template(keywords: Sequence[str], subject: str = "市民") -> str:
    """"市民反映供应、保障等问题": the problem's whole dictionary words only."""
    words = [k for k in keywords if _readable_word(k) and not SPEECH_CHARACTERS.intersection(k)
             and k not in LEAD_WORDS and k not in TAIL_WORDS][:2]
    return f"{subject}反映{'、'.join(words)}等问题" if words else f"{subject}反映的其他问题"


def quote(text: str) -> str:
    """An order's text for quoting: without the write-up's frame, shortened, personal data masked."""
    body = _strip_frame(text.strip())
    body = mask_text(body)
    return body if len(body) <= EXAMPLE_MAX else body[:EXAMPLE_MAX - 1] + "…"


def _shares(member_terms: Sequence[Sequence[str]]) -> dict[str, float]:
    counts = Counter(chain.from_iterable(map(set, member_terms)))
    total = max(len(member_terms), 1)
    # A term only a few orders use says nothing of the problem as a whole.
    return {t: n / total for t, n in counts.items() if n >= 2 or total < 4}


def _strip_frame(text: str) -> str:
    text = _BRACKETED.sub("", text)
    match = _FRAME_HEAD.match(text)
    return text[match.end():] if match else text


def _cores(candidate: Candidate, known: Sequence[str]) -> list[tuple[str, str, float]]:
    """(verb, core, weight) for every usable clause of the candidate's text that holds one of
    the ``known`` keywords."""
    found = []
    for clause in _CLAUSES.split(_strip_frame(normalise(candidate.text))):
        clause = _strip_frame(clause.strip())  # a second frame inside: "诉求：…"
        if not clause or _DIGITS.search(clause) or not any(k in clause for k in known):
            continue
        words = _without_places(cut(clause), candidate.places)
        verb, words = _verb(words)
        words = _trim(words, verb)
        core = "".join(words)
        if len(core) > CORE_MAX:
            core = ""  # windows are tried below
        if len(core) >= CORE_MIN:
            found.append((verb, core, 1.0))
        elif len("".join(words)) > CORE_MAX:
            found += [(verb, window, WINDOW_PENALTY) for window in _windows(words)]
    return found


def _without_places(words: list[str], places: frozenset[str]) -> list[str]:
    """The clause's words without place names (pieces of the known ones, ``places``, and up to
    the last place-like word among its first words), or everything before "某"."""
    if "某" in words:
        words = words[words.index("某") + 1:]
    kept = [w for w in words if not (len(w) >= 2 and w in places)]
    lead = [i for i, w in enumerate(kept[:PLACE_LEAD]) if _place_like(w)]
    kept = kept[lead[-1] + 1:] if lead else kept
    start = 0
    while start < len(kept) and kept[start] not in DEMANDS and kept[start] not in QUESTION_OPENERS \
            and _droppable_lead(kept, start, single=_leftover):
        start += 1
    return kept[start:]


def _droppable_lead(words: list[str], at: int, single) -> bool:
    """Whether the word at ``at`` may go from a clause's front: a lead word, or a single character
    (as ``single`` says), but never a negation, nor a word whose going would leave one at the front
    ("能|不能去上班" must not become "不能去上班")."""
    word = words[at]
    if word[0] in NEGATIONS or (at + 1 < len(words) and words[at + 1][0] in NEGATIONS):
        return False
    return word in LEAD_WORDS or single(word)


def _place_like(word: str) -> bool:
    """A compound's or a road's name ("福泉一村", "金桥家园小区"), or a place suffix left alone."""
    if word in PLACE_WORDS or (len(word) == 1 and word in PLACE_SUFFIXES) or _NUMBERED_PLACE.match(word):
        return True
    return len(word) >= 2 and word.endswith(PLACE_SUFFIXES) and not segmenter().has_word(word)


def _verb(words: list[str]) -> tuple[str, list[str]]:
    """What the clause does (反映, 咨询, 希望 …) and its words without the verb that said so."""
    at = 0
    while at < len(words) and words[at] in LEAD_WORDS and words[at] not in QUESTION_OPENERS \
            and words[at] not in DEMANDS:
        at += 1
    rest = words[at:]
    if rest and rest[0] in DEMANDS:
        return DEMANDS[rest[0]], rest[1:]
    joined = "".join(words)
    if joined.startswith(QUESTION_OPENERS) or any(m in joined for m in QUESTION_MARKS):
        return "咨询", rest
    return "反映", rest


def _trim(words: list[str], verb: str) -> list[str]:
    """Lead words off the front, function words and (for a question) its asking tail off the end."""
    start = 0
    while start < len(words) and _droppable_lead(words, start, single=_function):
        start += 1
    words = words[start:]
    while True:  # every round shortens the words, or ends
        before = words
        if verb == "咨询":
            words = _without_question_tail(words)
        while words and (words[-1] in TAIL_WORDS or _function(words[-1])):
            words = words[:-1]
        if words == before:
            return words


def _without_question_tail(words: list[str]) -> list[str]:
    joined = "".join(words)
    for tail, topic in [*TOPIC_TAILS.items(), *((tail, None) for tail in QUESTION_TAILS)]:
        if joined.endswith(tail) and len(joined) > len(tail):
            kept = _drop_tail(words, len(tail))
            if kept != words:
                return [*kept, topic] if topic else kept
    return words


def _drop_tail(words: list[str], size: int) -> list[str]:
    """The words without their last ``size`` characters, cut only at a word's edge."""
    kept = list(words)
    while kept and size > 0:
        size -= len(kept[-1])
        kept.pop()
    return kept if size == 0 else list(words)  # a tail ending inside a word: the word stays whole


def _windows(words: list[str]) -> list[str]:
    """Runs of consecutive whole words within CORE_MAX characters, starting and ending on content words."""
    found = []
    for start in range(len(words)):
        if words[start] in LEAD_WORDS or _function(words[start]):
            continue
        length, end = 0, start
        while end < len(words) and length + len(words[end]) <= CORE_MAX:
            length += len(words[end])
            end += 1
        run = _trim(words[start:end], "反映")
        if len("".join(run)) >= CORE_MIN:
            found.append("".join(run))
    return found


def _leftover(word: str) -> bool:
    """A single character left at a clause's front: a function word, or the rest of a place name."""
    return len(word) == 1 and (word in FUNCTION_CHARACTERS or word in PLACE_SUFFIXES)


def _function(word: str) -> bool:
    return len(word) == 1 and word in FUNCTION_CHARACTERS


@lru_cache(maxsize=4096)
def _readable_word(word: str) -> bool:
    """A word a reader knows: in the segmenter's dictionary (a character pair like "其对" is not)."""
    return len(word) >= 2 and (not re.search(r"[\u3400-\u9fff]", word) or segmenter().has_word(word))
