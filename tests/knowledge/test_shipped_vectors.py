"""The starter articles' vectors ship with cityline, so a new database does not embed them again."""

import numpy as np
import pytest

from cityline.db import transaction
from cityline.knowledge import semantic
from cityline.knowledge.files import import_records, read_records
from cityline.knowledge.search import STARTER, starter_texts
from tests.knowledge.conftest import NOW


def test_every_starter_text_has_a_shipped_vector():
    missing = [t for t in starter_texts() if semantic.digest(t) not in semantic.shipped()]
    assert not missing, (f"{len(missing)} starter texts have no shipped vector (the articles or phrasings "
                         f"changed): run `cityline knowledge ship-vectors`; first: {missing[0][:60]!r}")


@pytest.mark.skipif(not semantic.available(), reason="the model does not run on this machine")
def test_shipped_vectors_are_the_models_own():
    texts = starter_texts()[::250]
    fresh = semantic.embed_passages(texts)
    shipped = np.vstack([semantic.shipped()[semantic.digest(t)] for t in texts])
    # The same text's vector, not bit for bit: the model's kernels take other SIMD paths on other
    # processors (seen: components 1.7e-3 apart, cosine 0.99995), while another starter text's
    # vector is at most ~0.94 alike. So the same direction, to four nines.
    cosines = (fresh * shipped).sum(axis=1) / (np.linalg.norm(fresh, axis=1) * np.linalg.norm(shipped, axis=1))
    assert cosines.min() > 0.9999, cosines


@pytest.mark.skipif(not semantic.available(), reason="the model does not run on this machine")
def test_importing_the_starter_articles_runs_the_model_on_nothing(sessions):
    semantic._passages.clear()  # not taken from what this process embedded before
    before = semantic.embedded["passages"]
    with transaction(sessions) as session:
        report = import_records(session, read_records(STARTER), actor="editor", now=NOW)
    assert report.created == len(list(STARTER.glob("*.md")))
    assert semantic.embedded["passages"] == before
