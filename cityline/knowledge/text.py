"""What a question or an article is searched by: words, the hotline's terms, character pairs.

Chinese is cut by the shared segmenter (``cityline.text``) in "search" mode, so a
long word also yields the words inside it ("核酸检测" → "核酸", "检测", "核酸检测"),
with the knowledge base's own terms and their forms kept whole. Colloquial, dialect and mistyped forms are mapped to the canonical term
(``synonyms.toml``: "捅嗓子" → 核酸检测, "码黄了" → 黄码) and the term is added, so
"那个码黄了咋办" meets an article about yellow health codes. Character pairs of
every Chinese run (prefixed ``#``) sit beside the words: they catch typos and
words the segmenter cuts differently. Pairs of syllables (prefixed ``@``, tones
dropped: "口找" and "口罩" are both ``@kou zhao``) catch what a caller's words
become when an operator types what they heard: a homophone ("核算" for 核酸,
"健康吗" for 健康码). The syllables come from the character dictionary jionlp ships
(read directly, without importing jionlp); a character with more than one
reading takes the one with the most senses in that dictionary (核 hé, not hú).
Articles and questions go through the same function, so both sides always agree.

Each token of a question also gets a weight for how much it says about the topic
(``topicality``): a word common in everyday Chinese ("去", "人", "能", "两个") says
little, whatever the knowledge base's own counts say — with a few dozen articles,
"去" is as rare there as "口罩". The weights come from jionlp's general-corpus
inverse document frequencies; a hotline term a colloquial form stands for always
counts in full.
"""

from __future__ import annotations

import io
import re
import tomllib
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from cityline.once import built_once
from cityline.text import FILLERS, Words, cut_for_search

SYNONYMS_PATH = Path(__file__).with_name("synonyms.toml")
BIGRAM = "#"
SOUND = "@"
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORDLIKE = re.compile(r"\w")


@dataclass(frozen=True)
class Synonyms:
    """Colloquial forms → canonical terms: whole-word forms (one character) and phrases."""

    words: dict[str, tuple[str, ...]]
    phrases: tuple[tuple[str, str], ...]  # (form, canonical), longest form first
    # A canonical term that is itself a form of another ("黄码" of "健康码") implies it too.
    implies: dict[str, tuple[str, ...]]
    # First character → positions in ``phrases`` of the forms that start with it: a text is
    # checked only against forms it could contain (a few of 600, instead of every one).
    starting: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def canonical_terms(self) -> list[str]:
        found = {term for terms in self.words.values() for term in terms}
        return sorted(found | {term for _form, term in self.phrases})


def load_synonyms(path: Path = SYNONYMS_PATH) -> Synonyms:
    """Read a synonyms file; raises ValueError naming the file when it is malformed."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    words: dict[str, list[str]] = {}
    phrases: list[tuple[str, str]] = []
    for term, forms in data.get("terms", {}).items():
        if not isinstance(forms, list) or not all(isinstance(f, str) and f for f in forms):
            raise ValueError(f"{path}: terms.{term} must be a list of non-empty strings")
        for form in forms:
            form = normalise(form)
            if len(form) == 1:
                words.setdefault(form, []).append(term)
            else:
                phrases.append((form, term))
        if len(term) > 1:
            phrases.append((normalise(term), term))  # the term written out, however it is cut
    phrases.sort(key=lambda p: -len(p[0]))
    starting: dict[str, list[int]] = {}
    for position, (form, _term) in enumerate(phrases):
        starting.setdefault(form[0], []).append(position)
    return Synonyms({k: tuple(v) for k, v in words.items()}, tuple(phrases), _implied(phrases, words),
                    {c: tuple(p) for c, p in starting.items()})


def _implied(phrases: list[tuple[str, str]], words: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    direct: dict[str, set[str]] = {}
    for form, term in phrases:
        direct.setdefault(form, set()).add(term)
    for form, terms in words.items():
        direct.setdefault(form, set()).update(terms)
    closure = {}
    for term in {t for ts in direct.values() for t in ts}:
        seen, todo = set(), [term]
        while todo:
            for nxt in direct.get(todo.pop(), ()):
                if nxt not in seen and nxt != term:
                    seen.add(nxt)
                    todo.append(nxt)
        if seen:
            closure[term] = tuple(sorted(seen))
    return closure


@built_once
def default_synonyms() -> Synonyms:
    return load_synonyms()


@built_once
def own_words() -> Words:
    """The canonical terms and every multi-character form, kept whole when cutting (built once)."""
    synonyms = default_synonyms()
    return Words(word for word in [*synonyms.canonical_terms(), *(form for form, _ in synonyms.phrases)]
                 if _CJK_RUN.fullmatch(word))


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, one space between runs."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def words(text: str) -> list[str]:
    """The words of a normalised text, without punctuation and fillers (``cityline.text``);
    English plurals folded."""
    cut = cut_for_search(text, own_words())
    return [_fold(w) for w in cut if w.strip() and _WORDLIKE.search(w) and w not in FILLERS]


def _fold(word: str) -> str:
    """A light English stem ("masks" → "mask", "results" → "result"); Chinese is left alone."""
    if word.isascii() and len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def expansions(text: str, text_words: list[str], synonyms: Synonyms) -> list[tuple[str, str]]:
    """(form, canonical term) for each colloquial form in the text, each term once."""
    found: list[tuple[str, str]] = []
    terms: set[str] = set()

    def add(form: str, term: str) -> None:
        if term not in terms:
            terms.add(term)
            found.append((form, term))
            for implied in synonyms.implies.get(term, ()):
                add(form, implied)

    for position in sorted({p for c in set(text) for p in synonyms.starting.get(c, ())}):
        form, term = synonyms.phrases[position]
        if form in text:
            add(form, term)
    for word in text_words:
        for term in synonyms.words.get(word, ()):
            add(word, term)
    return found


def bigrams(text: str) -> list[str]:
    pairs = []
    for run in _CJK_RUN.findall(text):
        pairs.extend(BIGRAM + run[i : i + 2] for i in range(len(run) - 1))
    return pairs


def _jionlp_dictionary(name: str) -> str:
    """A text file of jionlp's dictionary folder, or of the zip it ships (jionlp unpacks
    its zips only when first imported, and importing it is slow and noisy)."""
    from cityline.geo.divisions import jionlp_dictionary_dir

    folder = jionlp_dictionary_dir()
    if (folder / f"{name}.txt").exists():
        return (folder / f"{name}.txt").read_text(encoding="utf-8")
    with zipfile.ZipFile(folder / f"{name}.zip") as archive, archive.open(f"{name}.txt") as member:
        return io.TextIOWrapper(member, encoding="utf-8").read()


# How much a word says about a topic, from how common it is in everyday Chinese
# (jionlp's general-corpus inverse document frequencies): 0 at EVERYDAY_IDF[0] or
# below ("去", "人", "能"), rising to 1 at EVERYDAY_IDF[1] and above ("口罩", "老板").
# The knowledge base is too small for its own frequencies to tell "去" from a topic.
EVERYDAY_IDF = (2.0, 7.0)
TOPIC_FLOOR = 0.1  # even the commonest word counts a little: it may be all a question has


@built_once
def commonness() -> dict[str, float]:
    """Words common in everyday Chinese → how much they say about a topic (below 1)."""
    low, high = EVERYDAY_IDF
    result = {}
    for line in _jionlp_dictionary("idf").splitlines():
        word, _, value = line.partition("\t")
        idf = float(value or high)
        if idf < high:
            result[word] = max(TOPIC_FLOOR, (idf - low) / (high - low))
    return result


def topicality(word: str) -> float:
    """How much a word or a character pair says about what is asked (0.1–1)."""
    return commonness().get(word, 1.0)


_READING = re.compile(r"\[([a-zàáāǎòóōǒèéēěìíīǐùúūǔǜǘǖǚǹńňüḿ]{1,8})\]")
_SENSE = re.compile(r"\d{1,2}\.")


@built_once
def syllables() -> dict[str, str]:
    """Each character → its reading without the tone ("罩" → "zhao"); of several readings,
    the one with the most senses (the first of those tied)."""
    result = {}
    for line in _jionlp_dictionary("chinese_char_dictionary").splitlines():
        char, _, rest = line.partition("\t")
        parts = _READING.split(rest)  # [before, reading, senses, reading, senses, …]
        senses = [(-len(_SENSE.findall(parts[i + 1])), i, _toneless(parts[i])) for i in range(1, len(parts) - 1, 2)]
        if len(char) == 1 and senses:
            result[char] = min(senses)[2]
    return result


def _toneless(reading: str) -> str:
    plain = unicodedata.normalize("NFD", reading.replace("ü", "v"))
    return "".join(c for c in plain if not unicodedata.combining(c))


def pair_topicality(pair: str) -> float:
    """A character pair's topicality: the pair's own as a word ("不能"), else its more telling character's."""
    listed = commonness().get(pair)
    return listed if listed is not None else max(topicality(c) for c in pair)


@dataclass(frozen=True)
class Analysis:
    """A text as the index sees it."""

    words: list[str]  # the text's own words
    tokens: list[str]  # words, canonical terms, character and syllable pairs: what is searched
    # For each word, the canonical words a colloquial form it belongs to stands for.
    alternatives: dict[str, frozenset[str]]
    # How much each token says about the topic (0.1–1): a question's tokens count by it.
    weights: dict[str, float]


def analyse(text: str, *, weigh: bool = True) -> Analysis:
    """The text's words, tokens and their alternatives; ``weigh=False`` leaves ``weights`` empty
    (an article's tokens need none: only a question's tokens count by topicality, and weighing
    every token of 10,000 articles was a third of an index build)."""
    text = normalise(text)
    text_words = words(text)
    result = list(text_words)
    weights = {w: topicality(w) for w in text_words} if weigh else {}
    alternatives: dict[str, set[str]] = {}
    seen = set(text_words)
    for form, term in expansions(text, text_words, default_synonyms()):
        term_words = words(normalise(term)) or [term]
        result.extend(w for w in term_words if w not in seen)
        seen.update(term_words)
        if weigh:
            weights.update((w, 1.0) for w in term_words)  # a hotline term names a topic
        for word in text_words:
            if word in form or form in word:
                alternatives.setdefault(word, set()).update(term_words)
    table = syllables()
    for run in _CJK_RUN.findall(text):
        sounds = [table.get(c, c) for c in run]
        for i in range(len(run) - 1):
            pair, sound = BIGRAM + run[i : i + 2], f"{SOUND}{sounds[i]} {sounds[i + 1]}"
            result += [pair, sound]
            if weigh:
                weight = pair_topicality(run[i : i + 2])
                weights[pair] = weight
                weights[sound] = max(weight, weights.get(sound, 0.0))
    return Analysis(text_words, result, {w: frozenset(a) for w, a in alternatives.items()}, weights)


def tokens(text: str) -> list[str]:
    """Everything a text is searched by: its words, the terms they mean, its character and syllable pairs."""
    return analyse(text, weigh=False).tokens
