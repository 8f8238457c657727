"""Pure decisions of the knowledge base: the editorial workflow and when an article is current.

The workflow (draft → reviewed → published → expired) runs on versions: an
editor writes a version, a different person reviews it, then it is published
and the version before it is superseded. An article whose live version is being
reworked stays published until the new version replaces it. Values in, values
out: no session, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from cityline.errors import Conflict, FieldError, Invalid

ARTICLE_STATUSES = ("draft", "reviewed", "published", "expired")
IMPORT_STATUSES = ("draft", "published")
TITLE_MAX = 300


@dataclass(frozen=True)
class ArticleState:
    """What the workflow needs to know about an article and its latest version."""

    status: str  # of the article: draft, reviewed, published, expired
    latest_status: str  # of the latest version: draft, reviewed, published, superseded
    latest_author: str
    latest_has_answer: bool
    published_version: int | None = None


@dataclass(frozen=True)
class Step:
    """The outcome of a workflow step: the article's and the latest version's new status."""

    article_status: str
    version_status: str


def is_current(effective_from: date | None, expires_at: date | None, today: date) -> bool:
    """An article answers calls from its effective date through its expiry date (both inclusive)."""
    if effective_from and today < effective_from:
        return False
    return not (expires_at and today > expires_at)


def after_edit(state: ArticleState | None) -> Step:
    """A new version starts as a draft; the article keeps answering with its live version."""
    if state is None or state.status in ("draft", "reviewed"):
        return Step("draft", "draft")
    return Step(state.status, "draft")


def review(state: ArticleState, reviewer: str) -> Step:
    """Four eyes: the reviewer is not the author, and there is an answer to review."""
    if state.latest_status != "draft":
        raise Conflict(f"the latest version is {state.latest_status}; only a draft can be reviewed")
    if reviewer == state.latest_author:
        raise Conflict(f"{reviewer} wrote this version; another editor must review it")
    if not state.latest_has_answer:
        raise Invalid("the draft has no answer yet", [FieldError("answer", "write the answer first")])
    return Step("reviewed" if state.status == "draft" else state.status, "reviewed")


def publish(state: ArticleState, *, skip_review: bool = False) -> Step:
    """A reviewed version goes live. ``skip_review`` is for imports of official notices."""
    if state.latest_status == "published":
        raise Conflict("the latest version is already published")
    if state.latest_status != "reviewed" and not skip_review:
        raise Conflict(f"the latest version is {state.latest_status}; review it before publishing")
    if not state.latest_has_answer:
        raise Invalid("an article without an answer cannot be published",
                      [FieldError("answer", "write the answer first")])
    return Step("published", "published")


def expire(state: ArticleState) -> Step:
    """Take an article off the air (the rule it states no longer applies)."""
    if state.status != "published":
        raise Conflict(f"the article is {state.status}; only a published article can expire")
    return Step("expired", state.latest_status)


def check_fields(
    *, external_id: str, title: str, answer: str, category: str | None, status: str | None,
    effective_from: date | None, expires_at: date | None, categories: Iterable[str],
    answer_required: bool = True,
) -> list[FieldError]:
    """Everything wrong with an article's fields, as field errors (empty when it is fine)."""
    errors = []
    if not external_id.strip():
        errors.append(FieldError("external_id", "required"))
    elif len(external_id) > 128 or any(c.isspace() for c in external_id):
        errors.append(FieldError("external_id", "at most 128 characters, no spaces"))
    if not title.strip():
        errors.append(FieldError("title", "required"))
    elif len(title) > TITLE_MAX:
        errors.append(FieldError("title", f"at most {TITLE_MAX} characters"))
    if answer_required and not answer.strip():
        errors.append(FieldError("answer", "required"))
    known = set(categories)
    if category and category not in known:
        errors.append(FieldError("category", f"unknown category code {category!r}"))
    if status is not None and status not in IMPORT_STATUSES:
        errors.append(FieldError("status", f"one of: {', '.join(IMPORT_STATUSES)}"))
    if effective_from and expires_at and expires_at < effective_from:
        errors.append(FieldError("expires_at", "is before effective_from"))
    return errors
