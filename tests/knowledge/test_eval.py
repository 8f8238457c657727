"""The labelled spoken questions: the right article first for at least 90% of them, in the top 3 for 97%."""

import json

from cityline.knowledge import search, semantic
from tests.knowledge.conftest import EVAL


def test_the_labelled_set_is_large_varied_and_names_real_articles(starter_sqlite):
    rows = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 200 and len({r["query"] for r in rows}) == len(rows)
    with starter_sqlite() as session:
        known = {a.external_id for a in search.index_for(session).articles}
    assert {r["external_id"] for r in rows} <= known
    assert len({r["external_id"] for r in rows}) >= 60


def test_the_right_article_is_first_for_nine_in_ten(starter_sqlite):
    rows = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip()]
    with starter_sqlite() as session:
        ranked = [[h.article.external_id for h in search.search(session, r["query"], limit=3)] for r in rows]
    top3 = sum(r["external_id"] in ids for r, ids in zip(rows, ranked, strict=True)) / len(rows)
    top1 = sum(ids[:1] == [r["external_id"]] for r, ids in zip(rows, ranked, strict=True)) / len(rows)
    print(f"knowledge eval: n={len(rows)} top1={top1:.3f} top3={top3:.3f}")
    # With the embedding model: measured 0.970 / 1.000 (words only 0.959 / 0.993); before the
    # shipped phrasings 0.944 / 0.993 (0.929 / 0.989), before issue 20 0.891 / 0.970. None of
    # these questions is a phrasing (``test_phrasings.py``). Without the model (another CPU)
    # search falls back to words.
    assert top3 >= 0.99 if semantic.available() else top3 >= 0.98
    assert top1 >= 0.95 if semantic.available() else top1 >= 0.93
