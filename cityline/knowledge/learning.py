"""Question variants learnt from the centre's own calls: consultations answered from an article.

When an operator closes a consultation at intake with an article's answer, the
order's ``answer`` event records the article (``data["article"]``, written by
``service.answer_from_article`` and by the orders API's ``answer`` move). The
caller's question, as the operator wrote it down, is then a way of asking that
article's question in the centre's own callers' words — everyday words, dialect,
homophones an editor would never think of. The index searches these beside the
article's own question variants, at a lower weight (they are not reviewed, and a
few are answered from the wrong article), so a later caller who says it the same
way finds the article even when they share few words with it.

They are read when the index is built and the index is rebuilt once a day for
them (``search.index_for``), so a question answered today helps from tomorrow.
Only the last ``LEARN_DAYS`` days count, at most ``MAX_LEARNT`` per article (the
most recent): a policy that changed is soon asked about in new words. Texts are
masked (phone and ID numbers) before they reach the index; they never leave it
(the public API shows articles, not what was learnt).

``candidate_words`` turns the same calls into proposals for ``synonyms.toml``: the
words (or, for words the segmenter does not know, character pairs) that callers
keep using for one article and that no article contains. An editor who adds
them as forms of the article's term makes them find it in every article that
uses the term, and at once, not only through the learnt field.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityline.knowledge.index import IndexedArticle
from cityline.knowledge.text import (
    BIGRAM,
    analyse,
    default_synonyms,
    normalise,
    pair_topicality,
    tokens,
    topicality,
)
from cityline.orders.models import Order, OrderEvent
from cityline.privacy import mask_text
from cityline.text import QUESTION_WORDS
from cityline.timeutil import local_day_start

LEARN_DAYS = 180
MAX_LEARNT = 50
PHRASINGS = Path(__file__).with_name("phrasings.jsonl")


def learnt_questions(session: Session, today: date) -> dict[str, tuple[str, ...]]:
    """Article id → the distinct questions of consultations answered from it lately, newest first."""
    rows = session.execute(
        select(OrderEvent.data, Order.text).join(Order, Order.id == OrderEvent.order_id)
        .where(OrderEvent.action == "answer", OrderEvent.at >= local_day_start(today - timedelta(days=LEARN_DAYS)))
        .order_by(OrderEvent.at.desc(), OrderEvent.id.desc()))
    learnt: dict[str, dict[str, None]] = {}  # a dict keeps the order and drops repeats
    for data, text in rows:
        article = (data or {}).get("article")
        question = mask_text(normalise(text or ""))
        if not isinstance(article, str) or not question:
            continue
        questions = learnt.setdefault(article, {})
        if len(questions) < MAX_LEARNT:
            questions[question] = None
    return {article: tuple(questions) for article, questions in learnt.items()}


@cache
def shipped_phrasings() -> dict[str, tuple[str, ...]]:
    """Article id → how outsiders asked its question (``phrasings.jsonl``): the starter articles only.

    People who saw only the starter articles wrote questions for each of them as callers would
    say them, sharing as few words with the article as they could (everyday and dialect words,
    questions inside a complaint, mistypes, English). The model finds a new caller's question
    closer to one of these than to the article's own wording far more often than not (README:
    measured with each writer's set held out). They are labelled, not guessed, so they count as
    much as a reviewed variant; they are searched by meaning only, so words-only search, the
    coverage that suggestions and mining rely on, and what is shown are unchanged. An article
    rewritten to a different question should lose its lines (they name it by id)."""
    found: dict[str, list[str]] = {}
    for number, line in enumerate(PHRASINGS.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            if not (isinstance(row.get("external_id"), str) and isinstance(row.get("question"), str)):
                raise ValueError(f"{PHRASINGS.name} line {number}: needs a text external_id and question")
            found.setdefault(row["external_id"], []).append(" ".join(row["question"].split()))
    return {article: tuple(dict.fromkeys(questions)) for article, questions in found.items()}


@dataclass(frozen=True)
class WordCandidate:
    """A word callers keep using for an article, which no article contains."""

    article: str
    word: str
    count: int  # answered questions it was in
    examples: tuple[str, ...]


def candidate_words(articles: Sequence[IndexedArticle], *, min_count: int = 3,
                    max_examples: int = 3) -> list[WordCandidate]:
    """Proposals for ``synonyms.toml`` from what was learnt for ``articles``, most used first."""
    reviewed = {t for a in articles for t in tokens(" ".join([a.title, *a.questions, a.answer]))}
    known = {form for form, _term in default_synonyms().phrases} | set(default_synonyms().words)
    found = []
    for article in articles:
        uses: Counter[str] = Counter()
        examples: dict[str, list[str]] = {}
        for question in article.learnt:
            for word in _telling(question) - reviewed:
                plain = word.removeprefix(BIGRAM)
                if plain not in known:
                    uses[plain] += 1
                    examples.setdefault(plain, []).append(question)
        found += [WordCandidate(article.external_id, word, n, tuple(examples[word][:max_examples]))
                  for word, n in uses.items() if n >= min_count]
    return sorted(found, key=lambda c: (-c.count, c.article, c.word))


def _telling(question: str) -> set[str]:
    """A question's words of two characters or more and its character pairs that say something."""
    analysis = analyse(question)
    result = {w for w in analysis.words if len(w) > 1 and w not in QUESTION_WORDS and topicality(w) >= 0.5}
    return result | {t for t in analysis.tokens if t.startswith(BIGRAM) and pair_topicality(t[1:]) >= 0.5}
