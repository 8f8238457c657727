"""The shipped phrasings: outsiders' questions for the starter articles, searched and never shown."""

import json
from dataclasses import replace

import pytest

from cityline.knowledge import learning, search, semantic
from cityline.knowledge.index import SearchIndex
from tests.knowledge.conftest import EVAL
from tests.knowledge.test_probe import PROBE, UNSEEN

OUTSIDERS = EVAL.parent


def read(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_starter_article_has_phrasings_and_no_test_question_is_one(starter_sqlite):
    phrasings = learning.shipped_phrasings()
    with starter_sqlite() as session:
        articles = search.index_for(session).articles
    assert set(phrasings) == {a.external_id for a in articles}
    assert min(len(p) for p in phrasings.values()) >= 5
    assert all(a.phrasings == phrasings[a.external_id] for a in articles)
    # The labelled set and the probe lists judge search: none of their questions may be a phrasing.
    shipped = {q for p in phrasings.values() for q in p}
    for path in (EVAL, PROBE, UNSEEN):
        assert not shipped & {" ".join(r["query"].split()) for r in read(path)}, path.name


def test_phrasings_are_searched_but_never_shown(loaded, as_user):
    phrasing = learning.shipped_phrasings()["KB-MED-002"][0]
    with loaded() as session:
        assert search.search(session, phrasing, limit=1)[0].article.external_id == "KB-MED-002"
    public = as_user("nobody", roles=["analyst"])
    public.headers.pop("Authorization")
    for path in ("/api/public/knowledge/articles/KB-MED-002", "/api/public/knowledge/articles?limit=200",
                 f"/api/public/knowledge/search?q={phrasing}"):
        answer = public.get(path)
        assert answer.status_code == 200 and phrasing not in answer.text, path


def test_a_malformed_phrasings_file_is_refused_with_its_line(tmp_path, monkeypatch):
    bad = tmp_path / "phrasings.jsonl"
    bad.write_text('{"external_id": "KB-MED-002", "question": "洗肾"}\n{"external_id": "KB-MED-002"}\n',
                   encoding="utf-8")
    monkeypatch.setattr(learning, "PHRASINGS", bad)
    learning.shipped_phrasings.cache_clear()
    try:
        with pytest.raises(ValueError, match="phrasings.jsonl line 2"):
            learning.shipped_phrasings()
    finally:
        monkeypatch.undo()
        learning.shipped_phrasings.cache_clear()


@pytest.mark.slow
@pytest.mark.skipif(not semantic.available(), reason="the embedding model cannot run here")
def test_one_writers_questions_are_found_by_the_other_writers_phrasings(starter_sqlite):
    """Leave one set out: the outsiders' set 4 ranked with the phrasings of sets 2 and 3 only."""
    held_out = read(OUTSIDERS / "questions4.jsonl")
    others: dict[str, list[str]] = {}
    for name in ("questions2.jsonl", "questions3.jsonl"):
        for row in read(OUTSIDERS / name):
            others.setdefault(row["external_id"], []).append(" ".join(row["query"].split()))
    with starter_sqlite() as session:
        shipped = search.index_for(session).articles
        shares = []
        for phrasings in ({}, others):
            articles = [replace(a, phrasings=tuple(phrasings.get(a.external_id, ()))) for a in shipped]
            index = SearchIndex(articles, search.vectors_of(session, articles))
            ranked = [[h.article.external_id for h in index.search(
                r["query"], limit=3, query_vector=semantic.embed_query(r["query"]))] for r in held_out]
            shares.append((sum(ids[:1] == [r["external_id"]] for r, ids in zip(held_out, ranked, strict=True)),
                           sum(r["external_id"] in ids for r, ids in zip(held_out, ranked, strict=True))))
    (alone1, alone3), (with1, with3) = [(t1 / len(held_out), t3 / len(held_out)) for t1, t3 in shares]
    print(f"questions4 held out: without phrasings {alone1:.3f} / {alone3:.3f}, "
          f"with the other writers' {with1:.3f} / {with3:.3f}")
    # Measured 0.893 / 0.977 without, 0.960 / 0.997 with (README: every set, each held out).
    assert with1 >= 0.93 and with3 >= 0.98 and with1 > alone1 + 0.03
