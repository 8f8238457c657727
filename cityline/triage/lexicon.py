"""The triage lexicon and the compiled matchers that find its words in an order.

Each field (kind, category, urgency, special group) has its own matcher: an
Aho-Corasick automaton, so a text is scanned once per field whatever the number
of words, and the longest word wins where words overlap ("核酸结果" over
"核酸"). Matching per field keeps a long word of one field ("降压药") from
hiding a word of another that overlaps it ("药快吃完").
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import ahocorasick_rs

DEFAULT_LEXICON_PATH = Path(__file__).with_name("lexicon.toml")
STRENGTHS = {"strong": 3.0, "terms": 1.5, "weak": 0.6}
FIELDS = ("kind", "category", "urgency", "special_group")
_WORD_CHAR = re.compile(r"[0-9a-zà-ɏЀ-ӿ]")
_PREFIX_MARK = "*"
_new_tuple = tuple.__new__


class Hit(NamedTuple):
    """One lexicon word found in a text (a tuple: made by the thousand per second)."""

    word: str
    start: int
    end: int
    votes: tuple[tuple[str, float], ...]  # (label, weight) pairs within one field


@dataclass(frozen=True)
class FieldMatcher:
    """One field's words in an Aho-Corasick automaton (leftmost-longest, one pass in Rust)."""

    automaton: ahocorasick_rs.AhoCorasick
    patterns: list[str]  # the automaton's patterns, by index
    exact: list[tuple[tuple[str, float], ...]]  # votes of the pattern as a whole word
    prefix: list[tuple[tuple[str, float], ...]]  # votes of the pattern written with a trailing *
    votes: dict[str, tuple[tuple[str, float], ...]]  # lexicon word (with any *) -> votes
    edges: list[tuple[bool, bool]]  # whether the pattern starts / ends with a letter or digit

    def find(self, lowered: str) -> list[Hit]:
        hits = []
        for index, start, end in self.automaton.find_matches_as_indexes(lowered):
            left, right = self.edges[index]
            if left and start > 0 and _is_word_char(lowered[start - 1]):
                continue  # "test" inside "contest", "120" inside a phone number
            votes = self.exact[index]
            if self.prefix[index]:
                stop = end
                while stop < len(lowered) and lowered[stop].isalpha():
                    stop += 1
                if stop > end or not votes:
                    end, votes = stop, self.prefix[index]
            elif right and end < len(lowered) and _is_word_char(lowered[end]):
                continue
            if votes:
                # tuple.__new__ skips the named tuple's Python-level constructor (many a second).
                hits.append(_new_tuple(Hit, (lowered[start:end], start, end, votes)))
        return hits


@dataclass(frozen=True)
class Lexicon:
    matchers: dict[str, FieldMatcher]
    cues: FieldMatcher  # each hit's one vote is "topic_negation", "focus" or "epidemic"
    absence_pattern: re.Pattern[str]
    kind_cues: FieldMatcher  # each hit's one vote names a kind cue ("someone_else", "proposal" ...)

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
    kind_cues = {word.lower(): name for name, words in data.get("kind_cues", {}).items() for word in words}
    return Lexicon(matchers, _cue_matcher(cue_kinds), absence_pattern, _cue_matcher(kind_cues))


def _field_matcher(tables: dict, field: str, neutral: list[str]) -> FieldMatcher:
    votes: dict[str, dict[str, float]] = {}
    for label, strengths in tables.items():
        for strength, words in strengths.items():
            if strength not in STRENGTHS:
                raise ValueError(f"lexicon {field}.{label}: unknown strength {strength!r}")
            for word in words:
                word = word.lower().strip()
                if word and word != _PREFIX_MARK:
                    by_label = votes.setdefault(word, {})
                    by_label[label] = max(by_label.get(label, 0.0), STRENGTHS[strength])
    # Neutral words vote for nothing; being longer, they hide the short word inside them
    # ("来电" hides "电", "加强针" hides "加强").
    for word in neutral:
        votes.setdefault(word, {})
    frozen = {word: tuple(sorted(by_label.items())) for word, by_label in votes.items()}
    patterns = sorted({word.removesuffix(_PREFIX_MARK) for word in frozen})
    return FieldMatcher(
        ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest),
        patterns,
        [frozen.get(pattern, ()) for pattern in patterns],
        [frozen.get(pattern + _PREFIX_MARK, ()) for pattern in patterns],
        frozen,
        _edges(patterns),
    )


def _is_word_char(char: str) -> bool:
    """Letters of alphabetic scripts and digits: the characters that make up a Latin-style word."""
    return char < "\u3000" and char.isalnum()


def _edges(patterns: list[str]) -> list[tuple[bool, bool]]:
    return [(_is_word_char(pattern[0]), _is_word_char(pattern[-1])) for pattern in patterns]


def _cue_matcher(cue_kinds: dict[str, str]) -> FieldMatcher:
    """Cue words as a matcher whose single "vote" names the kind of cue (a word ending in *
    matches any word starting with it, as in the fields' tables)."""
    votes = {word: ((kind, 1.0),) for word, kind in cue_kinds.items()}
    patterns = sorted({word.removesuffix(_PREFIX_MARK) for word in votes})
    return FieldMatcher(
        ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest),
        patterns,
        [votes.get(pattern, ()) for pattern in patterns],
        [votes.get(pattern + _PREFIX_MARK, ()) for pattern in patterns],
        votes,
        _edges(patterns),
    )
