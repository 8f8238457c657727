"""An in-memory BM25 index of the published articles, rebuilt from the database when they change.

Why our own index and not tantivy, by measurement: on the same 10,000 articles
(``bench/bench_knowledge.py``'s set), fed the same tokens and field weights,
this index answered the labelled questions in p50 0.46 ms / p95 2.9 ms with the
right article in the top 3 for 88.4%; tantivy 0.27 in p50 0.37 ms / p95 1.8 ms,
88.9%. Measured again for issue 20 (tantivy 0.27.0, the starter articles, the
same tokens, field weights and per-token weights given as boosts): labelled set
top-1 / top-3 0.933 / 0.989 against this index's 0.929 / 0.989, the first probe
list 0.875 / 1.000 against 0.900 / 1.000 — one question either way. Both are far
inside the 50 ms budget and rank alike, so we keep the one that needs no extra
native package and gives us for free what tantivy would need around it: dates
and category as array masks at query time, each article's vocabulary for the
coverage measure (how much of a question an article answers) that suggestions
and mining rely on, and the learnt field with its own length normalisation.
What decides quality — segmentation, the hotline's synonyms, character and
syllable pairs, how telling each word is, question variants weighted above the
answer — lives in ``text.py`` and would be ours with either engine. Should the
knowledge base reach hundreds of thousands of articles, or order search want the
same engine, tantivy fed ``text.tokens`` is the way.

Each article is three fields: what people ask (title and question variants),
what callers asked that was answered from it (``learning``), and the answer.
Each field has its own postings with BM25 term weights computed at build time,
so a query only adds up precomputed numbers (numpy) for its tokens.
Character and syllable pairs count for less than words, and every token of the
question by how telling it is (``text.topicality``).
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from cityline.knowledge.semantic import body_text, digest
from cityline.knowledge.text import BIGRAM, SOUND, Analysis, analyse, tokens
from cityline.text import QUESTION_WORDS  # words that ask: searched, not counted as the topic

K1 = 1.2
# A learnt token must be in this many of an article's answered questions (``_recurring``).
LEARNT_REPEATS = 2
# Question variants are short and many per article: weak length normalisation.
# What callers asked that was answered from the article (``learning``) counts for
# less than the reviewed variants: unreviewed, and now and then answered wrongly.
FIELDS = {"asked": {"weight": 1.0, "b": 0.3}, "learnt": {"weight": 0.5, "b": 0.3},
          "answer": {"weight": 0.35, "b": 0.75}}
# Character and syllable pairs count for less than words: they catch typos and
# homophones without letting a shared pair like "怎么" decide the ranking.
PAIR_WEIGHTS = {BIGRAM: 0.35, SOUND: 0.2}
NEVER = date.max.toordinal()

# Fusing words and meaning (``semantic``), tuned openly on both labelled sets
# (``README.md``): an article's similarity is its best question variant's cosine (the body's
# when it has none) plus half the body's, and the BM25 score, saturated to 0–1 as
# s / (s + LEXICAL_HALF), adds up to LEXICAL_WEIGHT. Words then decide between articles the
# model finds about as close, and an exact official term still counts.
BODY_WEIGHT = 0.5
LEXICAL_WEIGHT = 0.06
LEXICAL_HALF = 10.0
# A learnt question (``learning``) is unreviewed and now and then answered from the wrong
# article: its cosine counts a little less than a reviewed variant's. Cosines are compressed
# (a close paraphrase 0.93, a near neighbour 0.90), so "a little" is small: at 0.05 two
# "血滤" calls no longer led a third to the dialysis article; in the held-out halves of the
# labelled set (``bench/bench_knowledge.py``) 0 to 0.05 rank alike.
LEARNT_DISCOUNT = 0.01
# Below this best cosine an article that shares no token with the question is not returned.
# e5's cosines are compressed: on the labelled sets the right article's median is 0.90–0.93,
# English questions to Chinese articles reach only 0.82–0.86, and a question no article
# answers ("今天天气怎么样") still meets one at 0.88. So this only drops the clearly unrelated,
# and the cosine alone cannot tell "answered" from "not answered" (``SUGGEST_SIMILAR``).
SIMILAR = 0.80
# An article the operator's form offers on meaning alone (sharing under a quarter of the
# words) must be this close: above what an unanswered question meets (0.88–0.93 measured).
SUGGEST_SIMILAR = 0.93


@dataclass(frozen=True)
class IndexedArticle:
    """The published version of one article, as the index holds it."""

    external_id: str
    version: int
    title: str
    questions: tuple[str, ...]
    answer: str
    category: str | None = None
    effective_from: date | None = None
    expires_at: date | None = None
    source: str | None = None
    # Questions of consultations answered from this article (``learning``): searched, never shown.
    learnt: tuple[str, ...] = ()
    # The article's question as outsiders put it (``learning.shipped_phrasings``): searched, never
    # shown; by meaning like a reviewed variant, by words in the learnt field.
    phrasings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    article: IndexedArticle
    score: float
    # Share of the question's meaningful words that the article contains (0–1):
    # how well it answers, comparable across questions (the BM25 score is not).
    coverage: float
    # The best cosine between the question and the article's texts (None: words only).
    similarity: float | None = None


@dataclass
class _Field:
    postings: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


class SearchIndex:
    """BM25 over three fields of every article, fused with the cosine similarity of their
    vectors when given; search is read-only and thread-safe."""

    def __init__(self, articles: Sequence[IndexedArticle], vectors: Mapping[str, np.ndarray] | None = None,
                 *, reuse: SearchIndex | None = None):
        """``vectors``: text digest → vector (``semantic.store``); None for words only.
        ``reuse``: the index this one replaces; the tokens of every article whose texts it
        already had are taken from it (cutting the texts is most of a build)."""
        self.articles = list(articles)
        n = len(self.articles)
        self._from = np.array([a.effective_from.toordinal() if a.effective_from else 0
                               for a in self.articles], dtype=np.int64)
        self._until = np.array([a.expires_at.toordinal() if a.expires_at else NEVER
                                for a in self.articles], dtype=np.int64)
        self._categories = np.array([a.category or "" for a in self.articles], dtype=object)
        known = reuse._tokens if reuse is not None else {}
        self._tokens: dict[tuple[str, tuple[str, ...], str, tuple[str, ...], tuple[str, ...]], _ArticleTokens] = {}
        for a in self.articles:
            self._tokens[_texts(a)] = known.get(_texts(a)) or _article_tokens(a)
        asked, learnt, answers = zip(*(self._tokens[_texts(a)] for a in self.articles),
                                     strict=True) if self.articles else ((), (), ())
        self._vocab: list[frozenset[str]] = [frozenset(q) | frozenset(le) | frozenset(t)
                                             for q, le, t in zip(asked, learnt, answers, strict=True)]
        df = Counter(t for doc in self._vocab for t in doc)
        self._idf = {t: _idf(d, n) for t, d in df.items()}
        self._unseen_idf = _idf(0, n)
        self._fields = {name: _build(docs, FIELDS[name]["b"], self._idf)
                        for name, docs in (("asked", asked), ("learnt", learnt), ("answer", answers))}
        self._meaning = _Meaning(self.articles, vectors) if vectors is not None else None

    @property
    def by_meaning(self) -> bool:
        """Whether the index ranks by meaning too (it has the articles' vectors)."""
        return self._meaning is not None

    def vectors(self) -> dict[str, np.ndarray]:
        """Text digest → vector of every text in the index (empty for words only): what a
        rebuild need not read from the database again."""
        if self._meaning is None:
            return {}
        return dict(zip(self._meaning.digests, self._meaning.matrix, strict=True))

    @property
    def texts_embedded(self) -> int:
        """How many of the articles' texts the index has a vector for."""
        return len(self._meaning.owners) if self._meaning else 0

    def __len__(self) -> int:
        return len(self.articles)

    def rarity(self, token: str) -> float:
        """The token's inverse document frequency among the articles (highest when none has it)."""
        return self._idf.get(token, self._unseen_idf)

    def search(self, query: str, *, limit: int = 5, today: date | None = None,
               category: str | None = None, query_vector: np.ndarray | None = None) -> list[Hit]:
        """The best ``limit`` articles for ``query``, current on ``today`` (any date when None);
        by meaning too when the index has vectors and ``query_vector`` is the question's."""
        analysis = analyse(query)
        lexical = self.lexical_scores(analysis)
        if lexical is None:
            lexical = np.zeros(len(self.articles), dtype=np.float64)
        similarity = None
        if self._meaning is not None and query_vector is not None and self.articles:
            similarity, meaning = self._meaning.scores(query_vector)
            scores = meaning + LEXICAL_WEIGHT * lexical / (lexical + LEXICAL_HALF)
            keep = (lexical > 0) | (similarity >= SIMILAR)
        else:
            scores = lexical
            keep = lexical > 0
        if today is not None:
            day = today.toordinal()
            keep &= (self._from <= day) & (self._until >= day)
        if category:
            keep &= self._categories == category
        candidates = np.flatnonzero(keep)
        if candidates.size == 0:
            return []
        if candidates.size > limit:
            top = np.argpartition(-scores[candidates], limit - 1)[:limit]
            candidates = candidates[top]
        ranked = sorted(candidates.tolist(), key=lambda i: (-scores[i], i))
        return [Hit(self.articles[i], round(float(scores[i]), 4), self._coverage(analysis, i),
                    None if similarity is None else round(float(similarity[i]), 4))
                for i in ranked]

    def lexical_scores(self, analysis: Analysis) -> np.ndarray | None:
        """Every article's BM25 score for the analysed question (None when it has no token)."""
        query_tokens = Counter(analysis.tokens)
        if not query_tokens or not self.articles:
            return None
        scores = np.zeros(len(self.articles), dtype=np.float64)
        for name, spec in FIELDS.items():
            postings = self._fields[name].postings
            for token, count in query_tokens.items():
                found = postings.get(token)
                if found is None:
                    continue
                weight = (spec["weight"] * min(count, 2) * PAIR_WEIGHTS.get(token[0], 1.0)
                          * analysis.weights.get(token, 1.0))
                scores[found[0]] += weight * found[1]
        return scores

    def _coverage(self, analysis: Analysis, position: int) -> float:
        """Share (by rarity) of the question's topic words the article has, itself or as the term meant."""
        topic = {w for w in analysis.words if w not in QUESTION_WORDS}
        if not topic:
            return 0.0
        vocab = self._vocab[position]
        total = covered = 0.0
        for word in topic:
            weight = self._idf.get(word, self._unseen_idf)
            total += weight
            if word in vocab or any(a in vocab for a in analysis.alternatives.get(word, ())):
                covered += weight
        return round(covered / total, 4)


class _Meaning:
    """The articles' vectors as one matrix, a row per text, and which article each row is of."""

    def __init__(self, articles: Sequence[IndexedArticle], vectors: Mapping[str, np.ndarray]):
        rows: list[np.ndarray] = []
        owners: list[int] = []
        kinds: list[int] = []  # 0 body, 1 question variant or phrasing, 2 learnt question
        self.digests: list[str] = []
        for position, article in enumerate(articles):
            texts = [(0, body_text(article.title, article.answer))]
            texts += [(1, q) for q in (*article.questions, *article.phrasings)] + [(2, q) for q in article.learnt]
            for kind, text in texts:
                key = digest(text)
                vector = vectors.get(key)
                if vector is not None:  # not embedded (yet): the article is found by its other texts
                    rows.append(vector)
                    owners.append(position)
                    kinds.append(kind)
                    self.digests.append(key)
        self._count = len(articles)
        self.matrix = np.vstack(rows).astype(np.float32) if rows else np.zeros((0, 1), dtype=np.float32)
        self.owners = np.array(owners, dtype=np.int64)
        kind = np.array(kinds, dtype=np.int8)
        self._body_rows = np.flatnonzero(kind == 0)
        self._body_owners = self.owners[self._body_rows]
        # The rows of question texts are grouped by article (in article order), so each
        # article's best is one segment's maximum (``reduceat``).
        self._asked_rows = np.flatnonzero(kind > 0)
        asked_owners = self.owners[self._asked_rows]
        starts = np.flatnonzero(np.diff(asked_owners, prepend=-1)) if asked_owners.size else asked_owners
        self._segment_starts, self._segment_owners = starts, asked_owners[starts]
        self._discount = np.where(kind[self._asked_rows] == 2, LEARNT_DISCOUNT, 0.0).astype(np.float32)

    def scores(self, query_vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(each article's best cosine, its fused meaning score) for the question's vector."""
        body = np.full(self._count, -1.0)
        asked = np.full(self._count, -1.0)
        if len(self.owners):
            # einsum, not BLAS: OpenBLAS spreads a matrix-vector product over every core for a
            # few ms of work; on a shared machine that waits for them all (measured at 30,000
            # rows: 2.7 ms of CPU, against 12 ms over two threads).
            cosine = np.einsum("ij,j->i", self.matrix, query_vector.astype(np.float32))
            body[self._body_owners] = cosine[self._body_rows]
            if self._segment_starts.size:
                asked[self._segment_owners] = np.maximum.reduceat(
                    cosine[self._asked_rows] - self._discount, self._segment_starts)
        best = np.maximum(body, asked)
        # An article without question variants is as close as its body says.
        return best, BODY_WEIGHT * body + np.where(asked > -1, asked, body)


# An article's tokens by field: what people ask (title and variants), what was learnt (and how
# outsiders phrase it), the answer.
_ArticleTokens = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def _texts(article: IndexedArticle) -> tuple[str, tuple[str, ...], str, tuple[str, ...], tuple[str, ...]]:
    """Every text the article's tokens are cut from: what a rebuild compares to reuse them."""
    return article.title, article.questions, article.answer, article.learnt, article.phrasings


def _article_tokens(article: IndexedArticle) -> _ArticleTokens:
    """Kept by the index for the next rebuild; interned, so the same token of 10,000 articles
    is one string (the kept tokens cost about 3 KB an article instead of 8)."""
    return (tuple(map(sys.intern, tokens(" ".join([article.title, *article.questions])))),
            tuple(map(sys.intern, _recurring((*article.learnt, *article.phrasings)))),
            tuple(map(sys.intern, tokens(article.answer))))


def _recurring(questions: Sequence[str]) -> list[str]:
    """The tokens found in at least ``LEARNT_REPEATS`` of the questions, once per question they are in:
    how an article's callers keep saying it, without the one-off words of a single call."""
    per_question = [set(tokens(q)) for q in questions]
    counts = Counter(t for q in per_question for t in q)
    return [t for t, n in counts.items() for _ in range(n) if n >= LEARNT_REPEATS]


def _idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _build(docs: Sequence[Sequence[str]], b: float, idf: dict[str, float]) -> _Field:
    """Each token's postings: the articles that have it, ascending, and its BM25 weight in each.
    The weights are computed for every (article, token) pair at once (numpy), then cut by
    token: at 10,000 articles, about 3 million pairs a build."""
    lengths = np.array([len(d) for d in docs], dtype=np.float64)
    # Over the articles that have the field: most have learnt nothing, and counting their
    # empty fields would make every learnt field look many times longer than usual.
    average = float(lengths[lengths > 0].mean()) if lengths.sum() else 1.0
    norms = K1 * (1 - b + b * lengths / average)
    numbers: dict[str, int] = {}  # token → its number in this field
    pair_tokens: list[int] = []
    pair_tfs: list[int] = []
    per_doc: list[int] = []
    for doc in docs:
        counted = Counter(doc)
        pair_tokens += [numbers.setdefault(t, len(numbers)) for t in counted]
        pair_tfs += counted.values()
        per_doc.append(len(counted))
    result = _Field()
    if not pair_tokens:
        return result
    token_of = np.array(pair_tokens, dtype=np.int64)
    tf = np.array(pair_tfs, dtype=np.int64)
    position = np.repeat(np.arange(len(docs), dtype=np.int32), per_doc)
    idfs = np.array([idf[t] for t in numbers], dtype=np.float64)
    weights = idfs[token_of] * tf * (K1 + 1) / (tf + norms[position])
    order = np.argsort(token_of, kind="stable")  # stable: each token's articles stay ascending
    cuts = np.flatnonzero(np.diff(token_of[order])) + 1
    for token, ids, values in zip(numbers, np.split(position[order], cuts), np.split(weights[order], cuts),
                                  strict=True):
        result.postings[token] = (ids, values)
    return result
