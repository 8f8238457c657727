"""Chinese text for every package: one segmenter and one list of fillers.

**The segmenter** is rjieba (jieba's dictionary and algorithm, in Rust), with
jieba's own dictionary and nothing added, in one instance per process: built on
first use under a lock (its dictionary takes a moment and some memory to load)
and never changed afterwards, so any number of threads may cut with it at once.
HMM guessing of unknown words is off everywhere: its guesses differ from text to
text, which blurs counting and matching.

**A package's own words** (triage's lexicon, the knowledge base's terms and
their colloquial forms) are kept whole without teaching them to the shared
dictionary: the package builds a ``Words`` of them once and passes it to
``cut``. Where such words occur they are kept as one piece and the text between
them is cut by the segmenter. So packages share one dictionary, yet one
package's vocabulary never changes how another's texts are cut (the analytics
counts, for instance, are cut by the plain dictionary). When words found in a
text overlap, those whose edges fall where the plain dictionary would cut win
("口罩" over "道口" in "知道口罩"), then the longer, then the one further right:
in Chinese the head of a compound is at its end ("去|隔离点" rather than
"去隔离|点"). Measured against teaching each package's words to its own rjieba
instance (as before this module): knowledge search top-1 / top-3 the same
(0.891 / 0.970), triage cross-validation within seed-to-seed noise (mean of
seeds 1-5: category macro-F1 0.8693 vs 0.8696, urgent recall 0.974 vs 0.973,
urgent precision 0.821 vs 0.822), analytics unchanged (it never had own words).

**Fillers** (``FILLERS``) say nothing about what a caller's problem is: the
frame of a hotline write-up ("市民来电反映"), greetings, pronouns, particles,
conjunctions and English function words. ``QUESTION_WORDS`` ask rather than
name a topic. Knowledge search and analytics both leave fillers out; what each
does with question words, and any words of their own, is theirs to say.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path

import ahocorasick_rs
import rjieba

_lock = threading.Lock()
_segmenter: rjieba.Jieba | None = None


def segmenter() -> rjieba.Jieba:
    """The process's one segmenter (jieba's dictionary, nothing added). Do not add words
    to it: pass a ``Words`` to ``cut`` instead."""
    global _segmenter
    if _segmenter is None:
        with _lock:  # two threads arriving first build it once, not twice
            if _segmenter is None:
                _segmenter = rjieba.Jieba()
    return _segmenter


def fingerprint() -> str:
    """What cutting depends on besides a package's own words: this module's code (and so its
    fillers) and rjieba's version (its dictionary). A cache of anything learnt from cut text
    (the shipped triage model) includes it in its key, so a change here is never served stale."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(metadata.version("rjieba").encode())
    return digest.hexdigest()[:16]


class Words:
    """Words to keep whole when cutting (a package's own terms), found in one pass of an
    Aho-Corasick automaton. Immutable once built, so it may be shared between threads."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(word for word in words if word)
        self._automaton = ahocorasick_rs.AhoCorasick(sorted(self.words)) if self.words else None

    def __contains__(self, word: object) -> bool:
        return word in self.words

    def __len__(self) -> int:
        return len(self.words)

    def pieces(self, text: str) -> Iterator[tuple[bool, str]]:
        """The text in order as (kept, piece): the words found, and the runs between them."""
        found = self._automaton.find_matches_as_indexes(text, overlapping=True) if self._automaton else []
        if not found:
            if text:
                yield False, text
            return
        edges, at = {0}, 0
        for word in segmenter().cut(text, False):
            at += len(word)
            edges.add(at)
        taken: list[tuple[int, int]] = []
        used = [False] * len(text)
        # Where found words overlap: those on the plain cut's edges first, then longer, then further right.
        for _, start, end in sorted(found, key=lambda m: (not (m[1] in edges and m[2] in edges), m[1] - m[2], -m[1])):
            if not any(used[start:end]):
                taken.append((start, end))
                used[start:end] = [True] * (end - start)
        at = 0
        for start, end in sorted(taken):
            if start > at:
                yield False, text[at:start]
            yield True, text[start:end]
            at = end
        if at < len(text):
            yield False, text[at:]


def cut(text: str, keep: Words | None = None) -> list[str]:
    """The words of ``text`` (jieba's accurate mode), ``keep``'s words kept whole."""
    if keep is None:
        return segmenter().cut(text, False)
    words: list[str] = []
    for kept, piece in keep.pieces(text):
        if kept:
            words.append(piece)
        else:
            words.extend(segmenter().cut(piece, False))
    return words


def cut_for_search(text: str, keep: Words | None = None) -> list[str]:
    """``cut``, and also the known words inside each long word (jieba's search mode:
    "核酸检测" gives "核酸", "检测", "核酸检测"), so a search for either part finds it."""
    jieba = segmenter()
    if keep is None:
        return jieba.cut_for_search(text, False)
    words: list[str] = []
    for kept, piece in keep.pieces(text):
        if not kept:
            words.extend(jieba.cut_for_search(piece, False))
            continue
        # As jieba's search mode does for a word it knows: its known two- and three-character parts first.
        for size in (2, 3):
            if len(piece) > size:
                words.extend(part for part in (piece[i:i + size] for i in range(len(piece) - size + 1))
                             if part in keep or jieba.has_word(part))
        words.append(piece)
    return words


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that say nothing about what the caller's problem is.
FILLERS = _words(
    # particles, pronouns and the commonest function words (single characters too: search keeps them)
    "的 了 是 我 你 他 她 它 我们 你们 他们 她们 在 就 也 都 和 与 及 或 啊 呀 吧 嘛 呢 哦 哈 嗯 噢 哎 唉 诶 喂 "
    "吗 么 那 这 那个 这个 这些 那些 这样 那样 这里 那里 个 有 说 一下 一个 一些 自己 "
    "就是 然后 还是 还有 还 要 会 把 被 给 让 对 从 到 向 跟 啦 咯 喔 呗 哇 额 呃 其 该 "
    # asking politely, greeting, thanking
    "请问 问 问一下 问问 想 想问 想问问 我想 麻烦 拜托 您好 你好 谢谢 请 "
    # the frame of a hotline write-up
    "市民 来电 来电人 来电市民 咨询 反映 反应 询问 称 表示 诉求 诉求为 希望 请求 要求 告知 "
    # conjunctions and adverbs of speech
    "现在 已经 目前 因为 所以 但是 可是 如果 而且 或者 以及 一直 非常 比较 特别 真的 实在 到底 其实 "
    "觉得 感觉 可能 "
    # English function words
    "a an the to of and or is are was were be been do does i you we it my me in on for with can how what "
    "that this have has had not but your our their from about please hello thanks thank "
    "there into they them than then also just very would could"
)

# Words that ask rather than name a topic.
QUESTION_WORDS = _words(
    "怎么 怎么办 咋办 咋 咋整 咋弄 啥 什么 哪里 哪儿 哪 哪个 多久 几 多少 能不能 能 可以 不能 要不要 为什么 "
    "怎样 如何 是不是 是否 有没有 没有 需要 应该 办 弄 找 谁 when where why which who should need"
)
