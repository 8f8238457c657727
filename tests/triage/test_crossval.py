"""Cross-validation: every labelled order is classified once, by a model that never saw it."""

import pytest

from cityline.triage.crossval import cross_validate, folds, learnt_without, leave_one_set_out
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


def test_leaving_one_writers_set_out_never_learns_its_texts():
    first, second = examples()[:6], examples()[6:]
    history = [*first, *examples()[3:9]]  # the history holds some of both sets' texts
    learn = learnt_without("one", {"one": first, "two": second}, history)
    assert not {r.text for r in learn} & {r.text for r in first}
    assert sorted(r.text for r in learn) == sorted(r.text for r in second)  # each text once
    reports = leave_one_set_out({"one": first, "two": second}, examples(copies=2))
    assert {name: report["n"] for name, report in reports.items()} == {"one": 6, "two": 6}
    assert reports["one"]["model_version"] == "without one"
    assert 0.0 <= reports["two"]["kind"]["accuracy"] <= 1.0
