"""Concrete problems inside a category, discovered from the orders' own words. Pure.

No catalogue of problems is written anywhere: within one category's orders of a
day (say masks), the problems (queuing at pharmacies, fake masks, prices …) are
groups of orders whose words the rest of the category does not use.

1. Vocabulary: terms (``text.py``) used by at least 1% of the day's orders (or of
   the recent orders the words are learned from), but not the words that define
   the whole category (in four out of five orders, like 口罩 among mask orders).
2. Each order is a TF-IDF vector (binary term frequency × log inverse document
   frequency over the recent orders), of unit length.
3. Spherical k-means (cosine k-means, k-means++ seeding from a fixed seed, so
   the same day gives the same answer) deliberately over-splits with a generous
   k, because the number of problems is not known. It clusters each order's
   context row (step 4) beside a lighter copy of its TF-IDF row.
4. Over-split groups come back together by average-linkage agglomeration on
   the company their words keep (second-order similarity): each order's terms
   are multiplied through the positive PMI between terms learned from the recent
   orders. Two phrasings of one problem ("排队买口罩人太多" / "药店门口天不亮就有人
   排队") share few words, but callers add the same details and asks to both,
   so their words keep the same company; different problems' words do not.
5. Groups smaller than ``min_size`` are not problems of the day; their orders
   join the big group whose context is nearest when close enough, else stay
   unexplained.

A group is labelled by its distinctive terms: the share of its orders using a
term, weighted by how much more often the group uses it than the rest of the
category (a log-ratio). Its representative orders are the ones nearest its centre.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

MAX_GROUPS = 10
MERGE_AT = 0.55  # average context similarity at which two groups are one problem
JOIN_AT = 0.5  # context similarity at which a stray order joins a problem
DEFINING_SHARE = 0.8
FIT_SAMPLE = 1500  # orders the k-means centres are fitted on (all orders are then assigned)
CONTEXT_SAMPLE = 3000  # recent orders the word associations are learned from, at most
CENTRAL = 8  # central orders kept per problem, whose sentences its title is drawn from
# k-means runs on each order's context row beside a lighter copy of its TF-IDF row: the
# context joins phrasings of one problem, the words themselves keep tiny days apart where
# there is too little text to learn associations from (mean F1 against the simulator's
# problems: 0.92 at the demo's scale, 0.94 at 0.1; context alone 0.91 / 0.94, words
# alone 0.80 / 0.88).
WORDS_WEIGHT = 0.3


@dataclass(frozen=True)
class Found:
    """One discovered problem: positions of its orders, label terms, representatives."""

    members: tuple[int, ...]
    keywords: tuple[str, ...]
    representatives: tuple[int, ...]
    central: tuple[int, ...] = ()  # the members nearest the centre, nearest first (a title's sources)


def discover(docs: Sequence[Sequence[str]], *, context: Sequence[Sequence[str]] | None = None,
             min_size: int | None = None, merge_at: float = MERGE_AT, seed: int = 0) -> list[Found]:
    """The problems among ``docs`` (each a list of terms), largest first.

    ``context`` is what the words are learned from: the category's orders of the
    last days, ``docs`` included. Which words keep company, and how rare a word
    is, are more reliable over a week than over one day of a small category;
    the groups are always of ``docs``.
    """
    n = len(docs)
    if n < 4:
        return []
    pool = _sample(context if context else docs, seed)
    min_size = min_size or max(3, math.ceil(0.03 * n))
    vocab = vocabulary(docs, pool)
    if len(vocab) < 2:
        return []
    index = {term: i for i, term in enumerate(vocab)}
    pool_terms = [_indices(doc, index) for doc in pool]
    df = np.bincount(np.concatenate([*pool_terms, np.zeros(0, np.int64)]), minlength=len(vocab))
    idf = np.log(len(pool) / np.maximum(df, 1.0)).astype(np.float32)
    present = _presence([_indices(doc, index) for doc in docs], len(vocab))
    matrix = _unit_rows(present * idf)
    usable = np.flatnonzero(present.any(axis=1))
    if len(usable) < min_size:
        return []
    k = min(MAX_GROUPS, max(2, len(usable) // 6))
    association = positive_pmi(pool_terms, len(vocab))
    context_rows = _unit_rows(present @ association)
    space = _unit_rows(np.hstack([matrix * WORDS_WEIGHT, context_rows]))
    labels = np.full(n, -1)
    labels[usable] = spherical_kmeans(space[usable], k, seed)
    labels = merge_groups(context_rows, labels, merge_at)
    labels = drop_small(context_rows, labels, min_size)
    return describe(docs, vocab, present, matrix, labels)


def context_rows(docs: Sequence[Sequence[str]]) -> np.ndarray:
    """Each order's unit-length context row (its terms through the positive PMI learned from
    ``docs`` themselves): what :func:`merge_groups` compares groups of orders by."""
    vocab = vocabulary(docs, docs)
    index = {term: i for i, term in enumerate(vocab)}
    indices = [_indices(doc, index) for doc in docs]
    return _unit_rows(_presence(indices, len(vocab)) @ positive_pmi(indices, len(vocab)))


def _sample(docs: Sequence[Sequence[str]], seed: int) -> Sequence[Sequence[str]]:
    if len(docs) <= CONTEXT_SAMPLE:
        return docs
    chosen = np.random.default_rng(seed).choice(len(docs), CONTEXT_SAMPLE, replace=False)
    return [docs[i] for i in np.sort(chosen)]


def vocabulary(docs: Sequence[Sequence[str]], pool: Sequence[Sequence[str]]) -> list[str]:
    """Terms common enough among the day's orders or the pool, but not defining the category.
    (An order's terms are distinct: ``text.terms``.)"""
    today = Counter(chain.from_iterable(docs))
    before = Counter(chain.from_iterable(pool))
    floor_today = max(2, math.ceil(0.01 * len(docs)))
    floor_pool = max(2, math.ceil(0.01 * len(pool)))
    ceiling = DEFINING_SHARE * len(docs)
    return sorted(term for term, count in today.items()
                  if count <= ceiling and (count >= floor_today or before[term] >= floor_pool))


def _presence(indices: Sequence[np.ndarray], size: int) -> np.ndarray:
    """Orders x terms: 1 where the order uses the term."""
    matrix = np.zeros((len(indices), size), dtype=np.float32)
    rows = np.repeat(np.arange(len(indices)), [len(i) for i in indices])
    matrix[rows, np.concatenate([*indices, np.zeros(0, np.int64)])] = 1.0
    return matrix


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def spherical_kmeans(matrix: np.ndarray, k: int, seed: int, rounds: int = 30) -> np.ndarray:
    """Cluster unit rows by cosine; returns a group number per row."""
    rng = np.random.default_rng(seed)
    sample = matrix
    if len(matrix) > FIT_SAMPLE:
        sample = matrix[np.sort(rng.choice(len(matrix), FIT_SAMPLE, replace=False))]
    centres = _plus_plus(sample, min(k, len(sample)), rng)
    labels = np.full(len(sample), -1)
    for _ in range(rounds):
        new = np.argmax(sample @ centres.T, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        centres = _centres(sample, labels, centres)
    return np.argmax(matrix @ centres.T, axis=1)


def _plus_plus(matrix: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding with cosine distance."""
    chosen = [int(rng.integers(len(matrix)))]
    distance = 1.0 - matrix @ matrix[chosen[0]]
    for _ in range(1, k):
        weights = np.clip(distance, 0.0, None) ** 2
        total = weights.sum()
        if total <= 0:
            break
        chosen.append(int(rng.choice(len(matrix), p=weights / total)))
        distance = np.minimum(distance, 1.0 - matrix @ matrix[chosen[-1]])
    return matrix[chosen].copy()


def _centres(matrix: np.ndarray, labels: np.ndarray, old: np.ndarray) -> np.ndarray:
    centres = old.copy()
    for group in range(len(old)):
        members = labels == group
        if members.any():
            centres[group] = matrix[members].sum(axis=0)
    return _unit_rows(centres)


def _indices(doc: Sequence[str], index: dict[str, int]) -> np.ndarray:
    return np.array([index[t] for t in doc if t in index], dtype=np.int64)


def positive_pmi(docs: Sequence[np.ndarray], size: int, min_together: int = 2) -> np.ndarray:
    """Terms x terms: max(0, log P(a,b) / (P(a) P(b))) where a and b meet in ≥ min_together orders.

    Counted from each order's term indices (pairs of its terms), not a dense product:
    an order holds a dozen terms of a vocabulary of hundreds.
    """
    pairs = [np.add.outer(doc * size, doc).ravel() for doc in docs if len(doc)]
    flat = np.concatenate(pairs) if pairs else np.zeros(0, np.int64)
    together = np.bincount(flat, minlength=size * size).reshape(size, size).astype(np.float64)
    df = np.diag(together).copy()
    with np.errstate(divide="ignore"):
        pmi = np.log(together * len(docs) / np.maximum(np.outer(df, df), 1.0))
    association = np.where(together >= min_together, np.maximum(pmi, 0.0), 0.0)
    np.fill_diagonal(association, 0.0)
    return association.astype(np.float32)


def merge_groups(context_rows: np.ndarray, labels: np.ndarray, merge_at: float) -> np.ndarray:
    """Merge the two groups of most similar context (UPGMA) while similarity ≥ merge_at."""
    labels = labels.copy()
    groups = [int(g) for g in np.unique(labels) if g >= 0]
    if len(groups) < 2:
        return labels
    context = _unit_rows(np.stack([context_rows[labels == g].sum(axis=0) for g in groups]))
    similarity = (context @ context.T).astype(np.float64)
    sizes = np.array([np.sum(labels == g) for g in groups], dtype=np.float64)
    alive = list(range(len(groups)))
    while len(alive) > 1:
        sub = similarity[np.ix_(alive, alive)]
        np.fill_diagonal(sub, -1.0)
        i, j = np.unravel_index(np.argmax(sub), sub.shape)
        if sub[i, j] < merge_at:
            break
        a, b = alive[i], alive[j]
        # The merged group's similarity to the others is the size-weighted mean of its parts'.
        merged = (sizes[a] * similarity[a] + sizes[b] * similarity[b]) / (sizes[a] + sizes[b])
        similarity[a, :] = merged
        similarity[:, a] = merged
        sizes[a] += sizes[b]
        labels[labels == groups[b]] = groups[a]
        alive.remove(b)
    return labels


def drop_small(context_rows: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Orders outside a group of min_size join the big group of nearest context, if close enough."""
    labels = labels.copy()
    counts = Counter(labels[labels >= 0].tolist())
    big = [g for g, c in counts.items() if c >= min_size]
    if not big:
        return np.full_like(labels, -1)
    stray = ~np.isin(labels, big)
    centres = _unit_rows(np.stack([context_rows[labels == g].sum(axis=0) for g in big]))
    if stray.any():
        similarity = context_rows[stray] @ centres.T
        nearest = np.array(big)[np.argmax(similarity, axis=1)]
        labels[stray] = np.where(similarity.max(axis=1) >= JOIN_AT, nearest, -1)
    return labels


def representatives(docs: Sequence[Sequence[str]], ranked: Sequence[int], shown: int,
                    alike: float = 0.6) -> list[int]:
    """The most central orders that do not repeat one another (term-set Jaccard below
    ``alike``); near-repeats only when nothing else is left."""
    chosen: list[int] = []
    for i in ranked:
        if all(_jaccard(docs[i], docs[j]) < alike for j in chosen):
            chosen.append(i)
        if len(chosen) == shown:
            return chosen
    rest = [i for i in ranked if i not in chosen and all(set(docs[i]) != set(docs[j]) for j in chosen)]
    return chosen + rest[:shown - len(chosen)]


def _jaccard(a: Sequence[str], b: Sequence[str]) -> float:
    left, right = set(a), set(b)
    return len(left & right) / len(left | right) if left | right else 1.0


def describe(docs: Sequence[Sequence[str]], vocab: list[str], present: np.ndarray,
             matrix: np.ndarray, labels: np.ndarray, top: int = 4, shown: int = 3) -> list[Found]:
    """Each group's members, distinctive terms and representative orders, largest first."""
    found = []
    for group in [g for g in np.unique(labels) if g >= 0]:
        inside = labels == group
        share_in = present[inside].mean(axis=0)
        share_out = present[~inside].mean(axis=0) if (~inside).any() else np.zeros(len(vocab))
        score = share_in * np.log((share_in + 0.01) / (share_out + 0.01))
        keywords = tuple(vocab[i] for i in np.argsort(-score, kind="stable")[:top]
                         if score[i] > 0 and share_in[i] >= 0.1)
        members = np.flatnonzero(inside)
        centre = _unit_rows(matrix[inside].sum(axis=0, keepdims=True))[0]
        closeness = matrix[members] @ centre
        ranked = [int(i) for i in members[np.argsort(-closeness, kind="stable")]]
        found_reps = representatives(docs, ranked[:200], shown)
        found.append(Found(tuple(int(i) for i in members), keywords, tuple(found_reps), tuple(ranked[:CENTRAL])))
    return sorted(found, key=lambda f: (-len(f.members), f.keywords))
