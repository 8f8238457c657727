"""Words, character pairs and lexicon signals of an order: the features a trained model reads.

Learning a vocabulary, Chinese is cut by the shared segmenter (``cityline.text``),
which keeps the lexicon's own words ("健康码", "封控", "见康码" ...) whole, and
every pair of neighbouring Chinese
characters sits beside the words: pairs catch typos and homophones that split
differently ("和酸" for "核酸"). Latin-script and Cyrillic words are whole
lower-cased words; long numbers are folded into one.

Classifying, a ``FeatureFinder`` finds every known word and pair of a text in
one pass of an Aho-Corasick automaton (wherever it occurs, not only where the
segmenter would cut), which is several times faster than segmenting; the model
learns from the same finder's features, so training and classifying agree.

The lexicon's reading of the text is a feature too ("the lexicon's likeliest
category is EPI.SUPPLY", "a strong urgent word was heard"): the model learns
from labelled history how far to trust each of the lexicon's calls, and the
words teach it what the lexicon does not know.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain
from operator import itemgetter

import ahocorasick_rs
import numpy as np

from cityline.once import built_once
from cityline.text import Words, cut
from cityline.triage.lexicon import load_lexicon
from cityline.triage.rules import Reading

_CJK = re.compile(r"[\u4e00-\u9fff]{2,}")
_DIGITS = re.compile(r"\d{4,}")
# Letters of alphabetic scripts (Latin, Cyrillic) and digits: these make whole words.
_WORD = re.compile(r"[0-9a-zß-ɏЀ-ӿ]+")
SIGNAL = "lexicon"  # the prefix of features that are the lexicon's calls, not words of the text
LEXICON_RANKS = 3  # the lexicon's three likeliest labels per field become features
STRONG_SCORE = 3.0  # a lexicon score this high is one strong word or several weaker ones
_first = itemgetter(0)
# Joins a batch's texts: a Unicode noncharacter, so in no feature, and no feature spans two texts.
_SEPARATOR = "\uffff"
_CODE_POINTS = 0x110000  # a pair of characters as one number: first * _CODE_POINTS + second


@built_once
def lexicon_words() -> Words:
    """The lexicon's Chinese words, kept whole when a text is cut (built once)."""
    lexicon = load_lexicon()
    return Words(word for matcher in lexicon.matchers.values() for word in matcher.votes if _CJK.fullmatch(word))


def normalised(text: str) -> str:
    """Lower case, with every number of four digits or more folded into "0"."""
    return _DIGITS.sub("0", text.lower())


def candidate_features(text: str, reading: Reading) -> set[str]:
    """The features ``text`` offers a vocabulary being learnt: its segmented words and Chinese
    character pairs, its alphabetic words, and the lexicon's signals from ``reading``."""
    lowered = normalised(text)
    found = {word for word in cut(lowered, lexicon_words()) if not _WORD.search(word)}
    found.update(_WORD.findall(lowered))
    for run in _CJK.findall(lowered):
        found.update(map(str.__add__, run, run[1:]))
    return found | lexicon_signals(reading)


class FeatureFinder:
    """Finds the features of a known vocabulary in a text: the non-alphabetic ones (Chinese
    words and pairs, kana, Hangul, punctuation) in one automaton pass, alphabetic words whole."""

    def __init__(self, vocabulary: dict[str, int]) -> None:
        # (The model's bias feature, "<bias>", has letters in its name: it is never found in a text.)
        pieces = [name for name in vocabulary if name and not name.startswith(SIGNAL) and not _WORD.search(name)]
        # Single characters by a set intersection (cheaper than an automaton match for each).
        self._characters = frozenset(name for name in pieces if len(name) == 1)
        longer = [name for name in pieces if len(name) > 1]
        self._automaton = ahocorasick_rs.AhoCorasick(longer) if longer else None
        self._piece_ids = [vocabulary[name] for name in longer]
        self._get = vocabulary.get
        self._size = len(vocabulary)
        # The id of each single character by its code point (-1: not a feature), the last entry
        # standing for every code point above the table.
        top = max(map(ord, self._characters), default=0)
        self._character_ids = np.full(top + 2, -1, dtype=np.int64)
        for name in self._characters:
            self._character_ids[ord(name)] = vocabulary[name]
        # For a batch: the pairs (most pieces, and most of a text's matches) looked up by numpy
        # in a sorted array of their numbers, the automaton left with the longer pieces.
        pairs = sorted((ord(name[0]) * _CODE_POINTS + ord(name[1]), vocabulary[name]) for name in longer if len(name) == 2)
        self._pair_keys = np.array([key for key, _ in pairs], dtype=np.int64)
        self._pair_ids = np.array([feature for _, feature in pairs], dtype=np.int64)
        longest = [name for name in longer if len(name) > 2]
        self._long_automaton = ahocorasick_rs.AhoCorasick(longest) if longest else None
        self._long_ids = np.array([vocabulary[name] for name in longest], dtype=np.int64)

    def ids(self, text: str, reading: Reading) -> set[int | None]:
        """The ids of the vocabulary's features in ``text`` (may include None for unknown words)."""
        lowered = normalised(text)
        found = set(map(self._get, self._characters.intersection(lowered)))
        if self._automaton is not None:
            matches = self._automaton.find_matches_as_indexes(lowered, overlapping=True)
            found.update(map(self._piece_ids.__getitem__, map(_first, matches)))
        found.update(map(self._get, _WORD.findall(lowered)))
        found.update(map(self._get, lexicon_signals(reading)))
        return found


    def ids_many(self, texts: Sequence[str], readings: Sequence[Reading]) -> tuple[np.ndarray, np.ndarray]:
        """``ids`` of many texts at once, with the bias (0) and without unknown words: every text's
        ids, sorted, one text after the other, and how many each text has. The characters, pairs
        and longer pieces of all texts are found in one pass over the texts joined (numpy, and the
        automaton for the longer pieces), only the alphabetic words and the lexicon's signals text
        by text."""
        lowered = [normalised(text) for text in texts]
        if any(_SEPARATOR in text for text in lowered):  # never in an order's text, still read right
            alone = [sorted((self.ids(text, reading) - {None}) | {0}) for text, reading in zip(texts, readings, strict=True)]
            return (np.fromiter(chain.from_iterable(alone), dtype=np.int64, count=sum(map(len, alone))),
                    np.array([len(ids) for ids in alone], dtype=np.int64))
        joined = _SEPARATOR.join(lowered)
        lengths = np.fromiter(map(len, lowered), dtype=np.int64, count=len(lowered))
        starts = np.cumsum(lengths + 1) - (lengths + 1)  # where each text begins in ``joined``
        which: list[np.ndarray] = []
        found: list[np.ndarray] = []
        points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        table = self._character_ids
        characters = table[np.minimum(points, len(table) - 1)]
        at = np.flatnonzero(characters >= 0)
        which.append(np.searchsorted(starts, at, side="right") - 1)
        found.append(characters[at])
        if len(self._pair_keys) and len(points) > 1:
            # Where the pair beginning at each position is a feature (a pair with the separator
            # is none): the same as the automaton's overlapping matches of two characters.
            pairs = points[:-1].astype(np.int64) * _CODE_POINTS + points[1:]
            slots = np.minimum(np.searchsorted(self._pair_keys, pairs), len(self._pair_keys) - 1)
            at = np.flatnonzero(self._pair_keys[slots] == pairs)
            which.append(np.searchsorted(starts, at, side="right") - 1)
            found.append(self._pair_ids[slots[at]])
        if self._long_automaton is not None:
            matches = self._long_automaton.find_matches_as_indexes(joined, overlapping=True)
            if matches:
                flat = np.fromiter(chain.from_iterable(matches), dtype=np.int64, count=3 * len(matches))
                pieces = flat.reshape(-1, 3)
                which.append(np.searchsorted(starts, pieces[:, 1], side="right") - 1)
                found.append(self._long_ids[pieces[:, 0]])
        get = self._get
        own: list[int] = []
        owners: list[int] = []
        for number, (text, reading) in enumerate(zip(lowered, readings, strict=True)):
            ids = set(map(get, _WORD.findall(text)))
            ids.update(map(get, lexicon_signals(reading)))
            ids.discard(None)
            ids.add(0)  # the bias feature
            own.extend(ids)
            owners.extend([number] * len(ids))
        which.append(np.array(owners, dtype=np.int64))
        found.append(np.array(own, dtype=np.int64))
        keys = _sorted_unique(np.concatenate(which) * self._size + np.concatenate(found))
        return keys % self._size, np.bincount(keys // self._size, minlength=len(lowered))


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """``np.unique`` of integer keys by a sort: numpy 2's hashing ``unique`` takes over ten times
    as long on a batch's few hundred thousand keys (a fifth of triage's time by batches)."""
    keys = np.sort(keys)
    first = np.empty(len(keys), dtype=bool)
    first[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    return keys[first]


def lexicon_signals(reading: Reading) -> set[str]:
    """What the lexicon heard, as features: its likeliest labels per field, which of them are
    strong, whether the epidemic is named, whether the caller asks a question, ages."""
    signals = set()
    for field, found in reading.fields.items():
        scores = found.scores
        if not scores:
            continue
        ranked = sorted(scores.items(), key=_by_score, reverse=True) if len(scores) > 1 else scores.items()
        for rank, (label, score) in enumerate(ranked):
            if score <= 0 or rank == LEXICON_RANKS:
                break
            signals.add(_signal_name("" if rank == 0 else "~", field, label))
            if score >= STRONG_SCORE:
                signals.add(_signal_name("!", field, label))
    if reading.epidemic_context:
        signals.add(f"{SIGNAL}:epidemic")
    if reading.question:
        signals.add(f"{SIGNAL}:question")
    signals.update(f"{SIGNAL}:age:{group}" for group in reading.age_groups)
    signals.update(f"{SIGNAL}:cue:{name}" for name in reading.kind_cues)
    signals.update(f"{SIGNAL}:role:{group}:{role}" for group, role in reading.group_roles.items())
    return signals


def _by_score(item: tuple[str, float]) -> float:
    return item[1]


@lru_cache(maxsize=4096)
def _signal_name(mark: str, field: str, label: str) -> str:
    """"lexicon:category:EPI.TEST" (the likeliest label), "lexicon~…" (the runners-up),
    "lexicon!…" (strong)."""
    return f"{SIGNAL}{mark or ':'}{field}:{label}"
