"""Daily mining: the questions callers asked yesterday that no article answers well.

The day's consultations (orders of kind ``consult``) are searched against the
published articles; those whose best article covers less than half of what
they ask are grouped (see ``clustering``), and every group asked often enough
becomes a proposal: a draft article with the question variants and how many
callers asked each, for an editor to write the answer to.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityline.knowledge import clustering, service
from cityline.knowledge.search import WELL_ANSWERED, index_for
from cityline.knowledge.text import bigrams, normalise, own_words, words
from cityline.orders.models import Order
from cityline.privacy import mask_text
from cityline.text import FILLERS, QUESTION_WORDS, cut
from cityline.timeutil import local_day_start

MIN_COUNT = 3
MAX_VARIANTS = 12
_PUNCT = re.compile(r"[\s，。！？、,.!?；;：:“”\"'（）()]+")
# How operators and callers open a question; two questions differing only here are one variant.
_LEAD_IN = re.compile(r"^(?:(?:市民|来电|来电人|咨询|询问|反映|称|表示|请问|想问一下|想问问|我想问一下|我想问|"
                      r"问一下|你好|您好|喂|那个)\s*)+")


@dataclass(frozen=True)
class QuestionCount:
    text: str
    count: int


@dataclass
class DraftProposal:
    """A group of unanswered questions, proposed to editors as a draft article."""

    external_id: str
    title: str
    key_terms: list[str]
    count: int
    questions: list[QuestionCount]
    orders: list[str]
    category: str | None
    closest_article: str | None = None
    closest_coverage: float = 0.0
    stored: bool = field(default=False)

    def evidence(self, day: date) -> dict:
        return {"mined_on": day.isoformat(), "count": self.count, "key_terms": self.key_terms,
                "questions": [{"text": q.text, "count": q.count} for q in self.questions],
                "orders": self.orders, "closest_article": self.closest_article,
                "closest_coverage": self.closest_coverage}


def consultations(session: Session, day: date) -> list[Order]:
    start = local_day_start(day)
    end = local_day_start(day + timedelta(days=1))
    return list(session.scalars(select(Order).where(
        Order.kind == "consult", Order.received_at >= start, Order.received_at < end)
        .order_by(Order.received_at, Order.id)))


def mine(session: Session, day: date, *, min_count: int = MIN_COUNT,
         well_answered: float = WELL_ANSWERED) -> list[DraftProposal]:
    """Proposals from the consultations received on ``day`` (local), most asked first."""
    index = index_for(session)
    unanswered: list[tuple[Order, str | None, float]] = []
    for order in consultations(session, day):
        hits = index.search(order.text, limit=1, today=day)
        best = hits[0] if hits else None
        if best is None or best.coverage < well_answered:
            unanswered.append((order, best.article.external_id if best else None,
                               best.coverage if best else 0.0))
    features = [_features(order.text) for order, _, _ in unanswered]
    vecs = clustering.vectors(features, index.rarity)
    proposals = []
    for group in clustering.cluster(features, rarity=index.rarity):
        if len(group) < min_count:
            continue
        proposals.append(_proposal(day, [unanswered[i] for i in group], features, group,
                                   unanswered[clustering.most_typical(vecs, group)][0].text))
    return proposals


def _features(text: str) -> list[str]:
    """Topic words, and the character pairs of what is left once fillers and question words go."""
    text = normalise(text)
    kept = [w for w in cut(text, own_words()) if w not in FILLERS and w not in QUESTION_WORDS]
    topic = [w for w in words(" ".join(kept)) if len(w) > 1 and w not in QUESTION_WORDS]
    return topic + bigrams(" ".join(kept))


def _proposal(day: date, rows: list[tuple[Order, str | None, float]], features: list[list[str]],
              group: list[int], typical: str) -> DraftProposal:
    terms = clustering.key_terms(features, group)
    variants = Counter(_variant(order.text) for order, _, _ in rows)
    closest = Counter(ext for _, ext, _ in rows if ext).most_common(1)
    categories = Counter(order.category for order, _, _ in rows if order.category).most_common(1)
    digest = hashlib.sha1(" ".join(sorted(terms)).encode()).hexdigest()[:6]
    return DraftProposal(
        external_id=f"MINED-{day:%Y%m%d}-{digest}", title=_variant(typical)[:60], key_terms=[mask_text(t) for t in terms],
        count=len(rows), questions=[QuestionCount(t, c) for t, c in variants.most_common(MAX_VARIANTS)],
        orders=[order.number for order, _, _ in rows], category=categories[0][0] if categories else None,
        closest_article=closest[0][0] if closest else None,
        closest_coverage=max((cov for _, _, cov in rows), default=0.0))


def _variant(text: str) -> str:
    """A question as it is counted: normalised, punctuation trimmed, phone and ID numbers masked
    (a proposal leaves the orders: it is stored as a draft article that may be published)."""
    text = _PUNCT.sub(" ", mask_text(normalise(text))).strip()
    return _LEAD_IN.sub("", text).strip() or text


def store_proposals(session: Session, proposals: list[DraftProposal], day: date, *, actor: str,
                    now: datetime) -> list[DraftProposal]:
    """Save each proposal as a draft article (no answer yet); one already proposed is left as it is."""
    for proposal in proposals:
        if service.find_article(session, proposal.external_id) is not None:
            continue
        data = service.ArticleInput(
            external_id=proposal.external_id, title=proposal.title,
            questions=[q.text for q in proposal.questions], category=proposal.category,
            source=f"mined from {proposal.count} consultations on {day.isoformat()}",
            evidence=proposal.evidence(day))
        service.write_version(session, data, actor=actor, now=now, note="proposed by daily mining")
        proposal.stored = True
    return proposals
