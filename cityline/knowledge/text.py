"""What a question or an article is searched by: words, the hotline's terms, character pairs.

Chinese is cut by the shared segmenter (``cityline.text``) in "search" mode, so a
long word also yields the words inside it ("核酸检测" → "核酸", "检测", "核酸检测"),
with the knowledge base's own terms and their forms kept whole. Colloquial, dialect and mistyped forms are mapped to the canonical term
(``synonyms.toml``: "捅嗓子" → 核酸检测, "码黄了" → 黄码) and the term is added, so
"那个码黄了咋办" meets an article about yellow health codes. Character pairs of
every Chinese run (prefixed ``#``) sit beside the words: they catch typos and
words the segmenter cuts differently. Articles and questions go through the same
function, so both sides always agree.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from cityline.once import built_once
from cityline.text import FILLERS, Words, cut_for_search

SYNONYMS_PATH = Path(__file__).with_name("synonyms.toml")
BIGRAM = "#"
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORDLIKE = re.compile(r"\w")


@dataclass(frozen=True)
class Synonyms:
    """Colloquial forms → canonical terms: whole-word forms (one character) and phrases."""

    words: dict[str, tuple[str, ...]]
    phrases: tuple[tuple[str, str], ...]  # (form, canonical), longest form first
    # A canonical term that is itself a form of another ("黄码" of "健康码") implies it too.
    implies: dict[str, tuple[str, ...]]

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
    return Synonyms({k: tuple(v) for k, v in words.items()}, tuple(phrases), _implied(phrases, words))


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

    for form, term in synonyms.phrases:
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


@dataclass(frozen=True)
class Analysis:
    """A text as the index sees it."""

    words: list[str]  # the text's own words
    tokens: list[str]  # words, canonical terms and character pairs: what is searched
    # For each word, the canonical words a colloquial form it belongs to stands for.
    alternatives: dict[str, frozenset[str]]


def analyse(text: str) -> Analysis:
    text = normalise(text)
    text_words = words(text)
    result = list(text_words)
    present = set(text_words)
    alternatives: dict[str, set[str]] = {}
    for form, term in expansions(text, text_words, default_synonyms()):
        term_words = words(normalise(term)) or [term]
        result.extend(w for w in term_words if w not in present)
        for word in text_words:
            if word in form or form in word:
                alternatives.setdefault(word, set()).update(term_words)
    result.extend(bigrams(text))
    return Analysis(text_words, result, {w: frozenset(a) for w, a in alternatives.items()})


def tokens(text: str) -> list[str]:
    """Everything a text is searched by: its words, the terms they mean, its character pairs."""
    return analyse(text).tokens
