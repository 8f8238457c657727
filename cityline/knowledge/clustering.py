"""Grouping similar questions: pure, values in and values out.

Each question becomes a TF-IDF vector over its topic words and character pairs.
The rarity of a feature comes from a background (the knowledge base: words it
never uses, the new topics, weigh most; words in every article, little), or
from the batch itself when no background is given. Questions are taken most-typical first and each joins the
group whose centre it is most similar to (cosine), or starts a new one. Only
groups sharing a feature with the question are compared, through an inverted
index, so a day of tens of thousands of questions stays fast.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

SIMILAR = 0.3


Rarity = Callable[[str], float]


def vectors(features: Sequence[Sequence[str]], rarity: Rarity | None = None) -> list[dict[str, float]]:
    """Unit-length TF-IDF vectors of each question's features."""
    if rarity is None:
        n = len(features)
        df = Counter(f for fs in features for f in set(fs))

        def rarity(feature: str) -> float:
            return math.log(1 + n / df[feature])

    result = []
    for fs in features:
        counts = Counter(fs)
        vec = {f: (1 + math.log(c)) * rarity(f) for f, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        result.append({f: v / norm for f, v in vec.items()})
    return result


def cluster(features: Sequence[Sequence[str]], *, similar: float = SIMILAR,
            rarity: Rarity | None = None) -> list[list[int]]:
    """Groups of question positions, largest first; each question is in exactly one group."""
    vecs = vectors(features, rarity)
    centres: list[dict[str, float]] = []
    members: list[list[int]] = []
    by_feature: dict[str, set[int]] = defaultdict(set)
    for position in sorted(range(len(vecs)), key=lambda i: (-len(vecs[i]), i)):
        vec = vecs[position]
        best, best_sim = None, similar
        for group in {g for f in vec for g in by_feature.get(f, ())}:
            sim = _cosine(vec, centres[group])
            if sim >= best_sim:
                best, best_sim = group, sim
        if best is None:
            best = len(centres)
            centres.append({})
            members.append([])
        members[best].append(position)
        centre = centres[best]
        for f, v in vec.items():
            centre[f] = centre.get(f, 0.0) + v
            by_feature[f].add(best)
    groups = [sorted(m) for m in members]
    return sorted(groups, key=lambda g: (-len(g), g[0]))


def _cosine(vec: dict[str, float], centre: dict[str, float]) -> float:
    norm = math.sqrt(sum(v * v for v in centre.values())) or 1.0
    return sum(v * centre.get(f, 0.0) for f, v in vec.items()) / norm


def key_terms(features: Sequence[Sequence[str]], group: Sequence[int], limit: int = 5) -> list[str]:
    """The words most shared by the group's questions (character pairs left out)."""
    counts = Counter(f for i in group for f in set(features[i]) if not f.startswith("#"))
    return [f for f, _ in sorted(counts.items(), key=lambda fc: (-fc[1], -len(fc[0]), fc[0]))[:limit]]


def most_typical(vecs: Sequence[dict[str, float]], group: Sequence[int]) -> int:
    """The question of the group closest to its centre (what to title the group with)."""
    centre: dict[str, float] = {}
    for i in group:
        for f, v in vecs[i].items():
            centre[f] = centre.get(f, 0.0) + v
    return max(group, key=lambda i: (_cosine(vecs[i], centre), -i))
