"""The shipped model is learnt once and then read from the data directory's cache."""

import numpy as np
import pytest

from cityline.config import get_settings
from cityline.triage.history import shipped_model
from cityline.triage.service import default_triager


@pytest.fixture
def own_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYLINE_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    shipped_model.cache_clear()
    yield tmp_path
    monkeypatch.undo()
    get_settings.cache_clear()
    shipped_model.cache_clear()
    default_triager.cache_clear()


def test_the_shipped_model_is_cached_and_a_damaged_cache_is_replaced(own_data_dir):
    learnt = shipped_model()
    [cached] = (own_data_dir / "cache").glob("shipped-model-*.npz")

    shipped_model.cache_clear()  # a new process: read, not trained again
    read = shipped_model()
    assert read is not learnt and np.array_equal(read.weights, learnt.weights)
    assert read.vocabulary == learnt.vocabulary

    cached.write_bytes(b"half a file")
    shipped_model.cache_clear()
    repaired = shipped_model()
    assert np.array_equal(repaired.weights, learnt.weights)
    assert cached.read_bytes() == learnt.to_bytes()


def test_the_cache_key_changes_with_the_shared_text_module(monkeypatch):
    from cityline import text
    from cityline.triage import history

    before = history._fingerprint()
    monkeypatch.setattr(text, "fingerprint", lambda: "another segmenter")
    assert history._fingerprint() != before


def test_the_cache_key_changes_with_the_knowledge_articles(monkeypatch, tmp_path):
    from cityline.triage import history

    for path in history.ARTICLES.glob("KB-*.md"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(history, "ARTICLES", tmp_path)
    before = history._fingerprint()
    article = next(tmp_path.glob("KB-*.md"))
    article.write_text(article.read_text(encoding="utf-8") + "\n补充一句。\n", encoding="utf-8")
    assert history._fingerprint() != before
