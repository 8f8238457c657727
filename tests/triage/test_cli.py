"""`cityline triage …` commands on a throwaway database and a small labelled file."""

import json

import pytest
from typer.testing import CliRunner

from cityline import runtime
from cityline.config import get_settings
from cityline.db import default_sessionmaker
from cityline.triage import gate, service
from cityline.triage.cli import app
from cityline.triage.history import shipped_records
from tests.triage.conftest import EXAMPLES

runner = CliRunner()


@pytest.fixture
def database(tmp_path, monkeypatch, factory):
    """Point the default session factory at the test database (made from the models, so it is
    stamped as being at the newest migration, as an upgraded one would be)."""
    from alembic import command

    from cityline.schema import alembic_config

    url = str(factory.kw["bind"].url)
    command.stamp(alembic_config(url), "head")
    monkeypatch.setenv("CITYLINE_DATABASE_URL", url)
    get_settings.cache_clear()
    default_sessionmaker.cache_clear()
    runtime.sessions.cache_clear()
    yield factory
    get_settings.cache_clear()
    default_sessionmaker.cache_clear()
    runtime.sessions.cache_clear()


def test_a_new_installation_trains_without_setting_up_the_database_first(tmp_path, monkeypatch):
    """`triage train` is often the first command run on a fresh data directory: the schema is
    brought up as for every other command, not a 'no such table' error."""
    monkeypatch.setenv("CITYLINE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CITYLINE_DATABASE_URL", raising=False)
    for cached in (get_settings, default_sessionmaker, runtime.sessions):
        cached.cache_clear()
    try:
        result = runner.invoke(app, ["models"])
        assert result.exit_code == 0, result.output
    finally:
        for cached in (get_settings, default_sessionmaker, runtime.sessions):
            cached.cache_clear()


@pytest.fixture
def labelled_file(tmp_path):
    path = tmp_path / "labelled.jsonl"
    lines = [
        {"id": f"X{i:03d}", "text": text, "kind": kind, "category": category, "urgency": urgency,
         "special_groups": list(groups), "language": "zh", "district": None, "street": None}
        for i, (text, kind, category, urgency, groups) in enumerate(EXAMPLES * 2)
    ]
    lines[0]["district"] = "长宁区"  # a place the text does not name: counted as wrong
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines), encoding="utf-8")
    return path


def test_eval_prints_the_formats_json(database, labelled_file):
    result = runner.invoke(app, ["eval", str(labelled_file), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["n"] == 24
    for field in ("category", "kind", "urgency"):
        assert set(report[field]) >= {"accuracy", "macro_f1", "per_label"}
        assert set(report[field]["per_label"]["EPI.TEST" if field == "category" else "normal"]
                   if field != "kind" else report[field]["per_label"]["help"]) == {
            "precision", "recall", "f1", "support"}
    assert 0 <= report["special_groups"]["micro_f1"] <= 1
    assert report["language"]["accuracy"] == 1.0
    assert report["district"] == {"accuracy": 0.0, "n": 1}
    assert report["texts_per_second"] > 0


def test_eval_table_and_bad_files(database, labelled_file, tmp_path):
    result = runner.invoke(app, ["eval", str(labelled_file)])
    assert result.exit_code == 0
    assert "category" in result.output and "texts/s" in result.output
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "缺字段"}\n', encoding="utf-8")
    result = runner.invoke(app, ["eval", str(broken)])
    assert result.exit_code == 1
    assert "line 1: missing kind" in result.output


def test_train_models_activate_rollback(database, labelled_file):
    result = runner.invoke(app, ["train", "--file", str(labelled_file), "--holdout", "0.25"])
    assert result.exit_code == 0, result.output
    assert "saved model-1 (active)" in result.output
    runner.invoke(app, ["train", "--file", str(labelled_file)])
    listing = runner.invoke(app, ["models"])
    assert "model-1" in listing.output and "model-2" in listing.output
    assert "rolled back: model-1" in runner.invoke(app, ["rollback"]).output
    result = runner.invoke(app, ["rollback"])
    assert result.exit_code == 1 and "oldest version" in result.output
    assert "model-2 is now active" in runner.invoke(app, ["activate", "model-2"]).output
    assert runner.invoke(app, ["activate", "7"]).exit_code == 1
    report = json.loads(runner.invoke(app, ["eval", str(labelled_file), "--json"]).output)
    assert report["model_version"] == "model-2"


def test_training_adds_the_shipped_history_to_the_centres_own(database, labelled_file):
    judge = gate.held_back(shipped_records())
    shipped = len(shipped_records()) - len(judge)  # the held-back fifth judges, it is not learnt from
    result = runner.invoke(app, ["train", "--file", str(labelled_file), "--holdout", "0.25"])
    assert result.exit_code == 0, result.output
    # 24 labelled lines of the centre's own, 6 of them kept aside to measure the model.
    assert (f"training on {shipped + 18} orders ({shipped} shipped, 18 the centre's own), judging on "
            f"{len(judge)} held-back") in result.output
    with database() as session:
        (row,) = service.list_versions(session)
        assert row.trained_on == shipped + 18
        assert row.metrics["shipped"] == shipped and row.metrics["n"] == 6
        assert row.metrics["gate"]["judged_on"] == len(judge) and row.metrics["gate"]["activated"]


def test_an_empty_store_trains_on_the_shipped_history_alone_unless_told_not_to(database):
    result = runner.invoke(app, ["train", "--without-shipped"])
    assert result.exit_code == 1
    assert "only 0 labelled orders" in result.output
    result = runner.invoke(app, ["train"])
    assert result.exit_code == 0, result.output
    assert "reporting on 0 of the centre's own kept aside" in result.output
    assert "saved model-1 (active): at least as good as the lexicon alone (urgent recall" in result.output


def test_a_model_worse_than_the_one_in_use_stays_inactive_unless_forced(database, labelled_file):
    # 24 short lines alone make a model worse than the lexicon on the held-back orders.
    learn_little = ["train", "--without-shipped", "--file", str(labelled_file), "--holdout", "0"]
    result = runner.invoke(app, learn_little)
    assert result.exit_code == 0, result.output
    assert "saved model-1 (inactive): worse than the lexicon alone on" in result.output
    assert "new model" in result.output and "category macro-F1" in result.output  # both models' figures
    assert "cityline triage activate 1" in result.output
    with database() as session:
        assert service.active_version(session) is None
    result = runner.invoke(app, [*learn_little, "--force"])
    assert "saved model-2 (active): forced although worse than the lexicon alone" in result.output
    with database() as session:
        gates = [row.metrics["gate"] for row in service.list_versions(session)]
        assert [(g["activated"], g["forced"], g["incumbent"]) for g in gates] == [
            (False, False, "the lexicon alone"), (True, True, "the lexicon alone")]
        assert service.active_version(session).version == 2
    assert "model-2" in runner.invoke(app, ["models"]).output


def test_held_back_texts_in_the_centres_own_orders_are_not_learnt_from(database, labelled_file, tmp_path):
    held = gate.held_back(shipped_records())[0]
    line = {"id": "H1", "text": held.text, "kind": held.kind, "category": held.category, "urgency": held.urgency,
            "special_groups": list(held.special_groups), "language": held.language}
    with_held = tmp_path / "with_held.jsonl"
    with_held.write_text(labelled_file.read_text(encoding="utf-8") + "\n" + json.dumps(line, ensure_ascii=False),
                         encoding="utf-8")
    result = runner.invoke(app, ["train", "--without-shipped", "--file", str(with_held), "--holdout", "0"])
    assert "left out 1 of the centre's own orders" in result.output
    assert "training on 24 orders (0 shipped, 24 the centre's own)" in result.output
