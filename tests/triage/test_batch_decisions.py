"""Triage by batches (bulk import) decides and explains every text exactly as one at a time."""

from __future__ import annotations

import json

from cityline.intake.triage import classify_many_with, classify_with
from cityline.triage.history import SEED_FILE
from cityline.triage.service import default_triager


def varied_texts() -> list[tuple[str, str]]:
    """(text, language) of 400 shipped seed orders: every foreign-language and every third
    urgent one, the rest of every kind, so batches mix languages, urgencies and lengths."""
    rows = [json.loads(line) for line in SEED_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    foreign = [r for r in rows if r["language"] != "zh"]
    urgent = [r for r in rows if r["language"] == "zh" and r["urgency"] == "urgent"][::3]
    rest = [r for r in rows if r["language"] == "zh" and r["urgency"] != "urgent"][::7]
    chosen = (foreign + urgent + rest)[:400]
    return [(r["text"], r["language"]) for r in chosen]


def test_batches_give_what_one_text_at_a_time_gives():
    triager = default_triager()
    texts = [text for text, _ in varied_texts()]
    assert len(texts) == 400
    alone = [triager.classify(text).as_dict() for text in texts]
    # Batches of uneven sizes, so each text meets other neighbours than alone; one opened by a
    # long text, which widens every row of the batch's arithmetic (words of equal weight must
    # still be named in the same order).
    long = "；".join(texts[:40])
    together = []
    for first, last in ((0, 7), (7, 150), (150, 151), (151, 400)):
        opener = [long] if first == 7 else []
        together += [result.as_dict() for result in triager.classify_many(opener + texts[first:last])][len(opener):]
    assert together == alone
    # What intake keeps and an import stores, built without the result objects: the same.
    assert triager.explanations(texts[:150]) + triager.explanations(texts[150:]) == alone
    assert triager.explanations(texts[:50], "en") == [r.as_dict() for r in triager.classify_many(texts[:50], "en")]
    assert {a["language"] for a in alone} >= {"zh", "en", "ja"}
    assert any(a["urgency"]["value"] == "urgent" for a in alone)


def test_the_stored_predictions_are_the_same_by_batch(factory):
    """What an import stores (intake's prediction, with the explanation) for a given language too."""
    texts = varied_texts()[:200]
    with factory() as session:
        classify, classify_many = classify_with(session), classify_many_with(session)
    for language in (None, "en"):
        alone = [classify(text, language) for text, _ in texts]
        assert classify_many([text for text, _ in texts], language) == alone
