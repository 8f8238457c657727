"""Text that says what each category is about, learnt beside the labelled orders.

Labelled orders teach the model the words of the people who wrote them; outsiders write the
same matters in other words. Two texts written for other purposes name a category's matters
in the centre's own words, and the model learns from them as weakly labelled category text
(a category and nothing else; each short piece weighs as much as an order, so a whole article
weighs as much as the dozen pieces it is cut into):

- the knowledge articles shipped with cityline (``cityline/knowledge/data/KB-*.md``): each
  article's category is in its front matter; its title, the questions callers ask it and
  every sentence of its answer become one text each;
- the taxonomy itself: each category's Chinese name and its note.

Read as files, not through ``cityline.knowledge`` (which sits above triage).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import NamedTuple

import yaml

from cityline.taxonomy import Taxonomy

ARTICLES = Path(__file__).parents[1] / "knowledge" / "data"
# An article's sentence or question weighs this much of an order in the category loss, and so do
# the taxonomy's names and notes: 0.3 and 2.0 did no better (eval/cross_sets.py, triage/README.md).
ARTICLE_WEIGHT = 1.0
TAXONOMY_WEIGHT = 1.0
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|\n+")


class ReferenceText(NamedTuple):
    category: str
    text: str
    weight: float  # its share of the category loss beside an order's


def reference_texts(taxonomy: Taxonomy, articles: Path = ARTICLES) -> tuple[ReferenceText, ...]:
    """The articles' and the taxonomy's texts, each with its category (one of the taxonomy's)."""
    codes = set(taxonomy.codes("category"))
    found = [
        ReferenceText(category, text, ARTICLE_WEIGHT) for category, text in _article_texts(articles) if category in codes
    ]
    for entry in taxonomy.entries("category"):
        found += [ReferenceText(entry.code, text, TAXONOMY_WEIGHT) for text in (entry.zh, entry.note) if text]
    return tuple(found)


@cache
def _article_texts(folder: Path) -> tuple[tuple[str, str], ...]:
    """(category, text) for the title, each question and each answer sentence of every article
    in ``folder`` that names its category (files without front matter are skipped)."""
    found = []
    for path in sorted(folder.glob("KB-*.md")):
        meta, body = _front_matter(path.read_text(encoding="utf-8-sig"))
        category = meta.get("category")
        if not isinstance(category, str):
            continue
        questions = meta.get("questions") or []
        pieces = [str(meta.get("title") or ""), *map(str, questions), *_SENTENCE_END.split(body)]
        found += [(category, piece.strip()) for piece in pieces if len(piece.strip()) >= 4]
    return tuple(found)


def _front_matter(text: str) -> tuple[dict, str]:
    """The YAML front matter (a mapping, else empty) and the body of a Markdown article."""
    parts = text.replace("\r\n", "\n").split("\n---\n", 1)
    if not text.startswith("---\n") or len(parts) < 2:
        return {}, text
    try:
        meta = yaml.safe_load(parts[0][4:])
    except yaml.YAMLError:
        return {}, parts[1]
    return (meta if isinstance(meta, dict) else {}), parts[1]
