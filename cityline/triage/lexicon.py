"""The triage lexicon and the compiled matchers that find its words in an order.

Each field (kind, category, urgency, special group) has its own matcher: one
compiled regular expression built as a trie, so a text is scanned once per
field whatever the number of words, and the longest word wins where words
overlap ("核酸结果" over "核酸"). Matching per field keeps a long word of one
field ("隔离点") from hiding a shorter word of another ("隔离").
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_LEXICON_PATH = Path(__file__).with_name("lexicon.toml")
STRENGTHS = {"strong": 3.0, "terms": 1.5, "weak": 0.6}
FIELDS = ("kind", "category", "urgency", "special_group")
_WORD_CHAR = re.compile(r"[0-9a-zà-ɏЀ-ӿ]")
_PREFIX_MARK = "*"


@dataclass(frozen=True)
class Hit:
    """One lexicon word found in a text."""

    word: str
    start: int
    end: int
    votes: tuple[tuple[str, float], ...]  # (label, weight) pairs within one field


@dataclass(frozen=True)
class FieldMatcher:
    pattern: re.Pattern[str]
    votes: dict[str, tuple[tuple[str, float], ...]]  # lexicon word -> votes
    prefixes: tuple[str, ...]  # words written with a trailing * (any ending)

    def find(self, lowered: str) -> list[Hit]:
        hits = []
        for match in self.pattern.finditer(lowered):
            start, end = match.span()
            surface = match.group()
            if not _has_word_boundaries(lowered, start, end, surface):
                continue
            votes = self.votes.get(surface) or self._prefix_votes(surface)
            if votes:
                hits.append(Hit(surface, start, end, votes))
        return hits

    def _prefix_votes(self, surface: str) -> tuple[tuple[str, float], ...]:
        for prefix in self.prefixes:
            if surface.startswith(prefix):
                return self.votes[prefix + _PREFIX_MARK]
        return ()


@dataclass(frozen=True)
class Lexicon:
    matchers: dict[str, FieldMatcher]
    cue_pattern: re.Pattern[str]
    cue_kinds: dict[str, str]  # cue word -> "topic_negation" | "focus" | "epidemic"
    absence_pattern: re.Pattern[str]

    def labels(self, field: str) -> list[str]:
        return sorted({label for votes in self.matchers[field].votes.values() for label, _ in votes})


def load_lexicon(path: Path | None = None) -> Lexicon:
    """The lexicon at ``path`` or the shipped one, compiled once per path."""
    return _compile(Path(path).resolve() if path is not None else DEFAULT_LEXICON_PATH)


@lru_cache(maxsize=4)
def _compile(path: Path) -> Lexicon:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"cannot read triage lexicon {path}: {error}") from None
    neutral = [word.lower() for word in data.get("neutral", {}).get("words", [])]
    matchers = {field: _field_matcher(data.get(field, {}), field, neutral) for field in FIELDS}
    cues = data.get("cues", {})
    cue_kinds = {
        word.lower(): kind
        for kind in ("epidemic", "topic_negation", "focus")
        for word in cues.get(kind, [])
    }
    absence = [re.escape(word.lower()) for word in cues.get("absence", [])]
    cjk = "|".join(word for word in absence if not _WORD_CHAR.match(word))
    latin = "|".join(word for word in absence if _WORD_CHAR.match(word))
    absence_pattern = re.compile(rf"(?:{cjk})[^，。,.!?！？；;\s]?$|(?<![a-zа-я])(?:{latin})\s+(?:\w+\s+)?$")
    return Lexicon(matchers, _trie_pattern(cue_kinds), cue_kinds, absence_pattern)


def _field_matcher(tables: dict, field: str, neutral: list[str]) -> FieldMatcher:
    votes: dict[str, dict[str, float]] = {}
    for label, strengths in tables.items():
        for strength, words in strengths.items():
            if strength not in STRENGTHS:
                raise ValueError(f"lexicon {field}.{label}: unknown strength {strength!r}")
            for word in words:
                word = word.lower().strip()
                if word:
                    by_label = votes.setdefault(word, {})
                    by_label[label] = max(by_label.get(label, 0.0), STRENGTHS[strength])
    # Neutral words vote for nothing; being longer, they hide the short word inside them
    # ("来电" hides "电", "加强针" hides "加强").
    for word in neutral:
        votes.setdefault(word, {})
    frozen = {word: tuple(sorted(by_label.items())) for word, by_label in votes.items()}
    prefixes = tuple(
        sorted((w[:-1] for w in frozen if w.endswith(_PREFIX_MARK)), key=len, reverse=True)
    )
    return FieldMatcher(_trie_pattern(frozen), frozen, prefixes)


def _has_word_boundaries(text: str, start: int, end: int, surface: str) -> bool:
    """Latin words and numbers match whole words only ("test" not in "contest", "120" not in a phone number)."""
    if _WORD_CHAR.match(surface[0]) and start > 0 and _WORD_CHAR.match(text[start - 1]):
        return False
    return not (_WORD_CHAR.match(surface[-1]) and end < len(text) and _WORD_CHAR.match(text[end]))


def _trie_pattern(words) -> re.Pattern[str]:
    """One regular expression matching any of ``words``, longest first at each position."""
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = True
    body = _trie_regex(trie)
    return re.compile(body if body else r"(?!x)x")


def _trie_regex(node: dict) -> str:
    ends_here = "" in node
    branches = []
    for char in sorted(key for key in node if key):
        tail = _trie_regex(node[char])
        head = r"[^\W\d_]*" if char == _PREFIX_MARK else re.escape(char)
        branches.append(head + tail)
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends_here:
        return f"(?:{body})?" if len(branches) > 1 or len(branches[0]) > 1 else f"{body}?"
    return body
