"""Cross-validation: every labelled order is classified once, by a model that never saw it."""

import pytest

from cityline.triage.crossval import cross_validate, folds
from tests.triage.conftest import examples


def test_folds_cover_every_record_once():
    cut = folds(examples(), 3, seed=1)
    assert sorted(i for fold in cut for i in fold) == list(range(12))
    assert cut == folds(examples(), 3, seed=1)  # reproducible
    with pytest.raises(ValueError, match="need between 2 and 12 folds, got 1"):
        folds(examples(), 1, seed=1)


def test_cross_validation_scores_held_out_predictions():
    report = cross_validate(examples(copies=3), k=3, seed=1)
    assert report["n"] == 36 and report["folds"] == 3
    for field in ("category", "kind", "urgency"):
        assert 0.0 <= report[field]["macro_f1"] <= 1.0
        assert sum(label["support"] for label in report[field]["per_label"].values()) == 36
    # Each text appears three times: the copies in the other folds teach the model its labels.
    assert report["category"]["accuracy"] > 0.8
    assert report["language"]["accuracy"] == 1.0
