"""Learning from operators' corrections: corrections made through the HTTP API, a retrain behind
the gate that activates, one the gate refuses, nothing to do without new corrections, and the report."""

import json

import pytest
from typer.testing import CliRunner

from cityline import runtime
from cityline.config import get_settings
from cityline.db import default_sessionmaker, read_transaction
from cityline.triage import gate, service
from cityline.triage.cli import app
from cityline.triage.history import shipped_records
from cityline.triage.model import TrainedModel
from cityline.triage.models import TriageModelVersion
from cityline.triage.retrain import outcome, retrain
from tests.factories import order_body

# Made-up orders a model learnt from the shipped history calls wrongly, with the labels an
# operator gives them: a tip-off about a shop selling expired masks, in words the history lacks.
CORRECTED = {"kind": "report", "category": "GEN.MARKET", "urgency": "normal", "special_groups": []}
TEXTS = [f"跟你们说个事，{place}那家小超市货架上摆的口罩都过期了，生产日期是两年前的，还在卖，{tail}"
         for place, tail in [("弄堂口", "请去查一下"), ("菜场边上", "你们管管"), ("公交站旁", "麻烦看看"),
                             ("小区对面", "希望处理"), ("地铁口", "请核实"), ("学校后门", "请派人看看")]]


@pytest.fixture(scope="module")
def history():
    """A small history and judge set (as in test_gate): enough to beat the lexicon, quick to train."""
    shipped = list(shipped_records())
    judge = gate.held_back(shipped)[:150]
    learn = gate.learnable(shipped, gate.held_back(shipped))
    return learn[:1200], learn[:120], judge


def _correct(client, text: str, note: str = "是举报卖过期口罩") -> str:
    body = order_body(text=text, caller_phone="13800001234", address="静安区曹家渡街道万航渡路123弄")
    for name in ("kind", "category", "urgency", "special_groups"):
        body.pop(name)
    created = client.post("/api/orders", json=body)
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    corrected = client.put(f"/api/orders/{number}/labels", json={**CORRECTED, "note": note})
    assert corrected.status_code == 200 and corrected.json()["triage_source"] == "corrected", corrected.text
    return number


def test_outcome_of_one_corrected_field():
    assert outcome("report", "complaint", "report") == "fixed"
    assert outcome("report", "complaint", "suggestion") == "still wrong"
    assert outcome("report", "report", "report") == "already right"
    assert outcome("report", "report", "complaint") == "now wrong"
    assert outcome(["elderly", "child"], ["child", "elderly"], []) == "now wrong"


def test_retrain_learns_new_corrections_behind_the_gate_and_reports_them(client, sessions, history):
    learn, thin, judge = history
    assert retrain(sessions, shipped=learn, judge=judge) is None  # no correction yet: nothing to do
    numbers = [_correct(client, text) for text in TEXTS]

    first = retrain(sessions, shipped=learn, judge=judge)
    assert first is not None and first.corrections == len(TEXTS)
    assert first.outcome.active and first.outcome.incumbent_name == gate.RULES_ONLY
    report = first.report
    assert report["previous"] == "seed" and report["count"] == len(TEXTS)
    assert [item["number"] for item in report["items"]] == numbers
    with read_transaction(sessions) as session:
        row = service.active_version(session)
        assert row.metrics["corrections"] == report and row.metrics["gate"]["activated"]
        new = service.active_triager(session)
        model = TrainedModel.from_bytes(row.blob)
    assert model.trained_on == len(learn) + len(TEXTS)  # the corrected orders were learnt from
    old_calls = service.default_triager().classify_many(TEXTS)
    new_calls = new.classify_many(TEXTS)
    for item, old, now in zip(report["items"], old_calls, new_calls, strict=True):
        changed = {found["field"]: found for found in item["fields"]}
        assert set(changed) <= {"kind", "category", "urgency", "special_groups"} and changed
        for name, found in changed.items():
            assert found["operator"] == CORRECTED[name]
            if name != "special_groups":
                assert (found["old_model"], found["new_model"]) == (getattr(old, name).value, getattr(now, name).value)
            assert found["outcome"] == outcome(found["operator"], found["old_model"], found["new_model"])
    assert report["outcomes"]["fixed"] >= 1 and report["outcomes"]["fixed"] == sum(
        found["outcome"] == "fixed" for item in report["items"] for found in item["fields"])

    assert retrain(sessions, shipped=learn, judge=judge) is None  # learnt already: nothing to do

    # One more correction; a retrain on a thin history is worse than model-1 and the gate refuses it.
    late = _correct(client, "那家小超市口罩过期了还在卖，之前反映过，请尽快去查")
    refused = retrain(sessions, shipped=thin, judge=judge)
    assert refused is not None and refused.corrections == 1 and not refused.outcome.active
    assert refused.outcome.incumbent_name == "model-1" and "worse than model-1" in refused.outcome.verdict.reason
    assert [item["number"] for item in refused.report["items"]] == [late]
    assert refused.report["previous"] == "model-1"
    with read_transaction(sessions) as session:
        assert service.active_version(session).version == 1
        stored = session.get(TriageModelVersion, refused.outcome.version) or service.list_versions(session)[-1]
        assert stored.metrics["corrections"]["through_event"] > report["through_event"]
    # A refused model counts as learnt: the same orders would give the same model.
    assert retrain(sessions, shipped=thin, judge=judge) is None


@pytest.fixture
def cli_database(sessions, monkeypatch):
    """The `cityline` commands on the test's database (made from the models, so stamped as being at
    the newest migration, as an upgraded one would be)."""
    from alembic import command

    from cityline.schema import alembic_config

    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    command.stamp(alembic_config(url), "head")
    monkeypatch.setenv("CITYLINE_DATABASE_URL", url)
    for cached in (get_settings, default_sessionmaker, runtime.sessions):
        cached.cache_clear()
    yield sessions
    for cached in (get_settings, default_sessionmaker, runtime.sessions):
        cached.cache_clear()


def test_corrections_report_command(client, cli_database, history):
    learn, _thin, judge = history
    runner = CliRunner()
    refused = runner.invoke(app, ["corrections-report"])
    assert refused.exit_code == 1 and "no model has been retrained on corrections yet" in refused.output
    number = _correct(client, TEXTS[0])
    retrain(cli_database, shipped=learn, judge=judge)
    shown = runner.invoke(app, ["corrections-report", "--json"])
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)
    assert report["model"] == "model-1" and report["active"] and report["gate"]["activated"]
    assert report["gate"]["candidate"]["category_macro_f1"] > 0
    (item,) = report["items"]
    assert item["number"] == number and "过期" in item["text"]
    table = runner.invoke(app, ["corrections-report", "model-1"])
    assert table.exit_code == 0 and number in table.output and "corrected fields:" in table.output
    assert runner.invoke(app, ["corrections-report", "model-7"]).exit_code == 1
