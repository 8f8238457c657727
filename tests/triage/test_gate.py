"""The quality gate: a new model takes over only if it triages the held-back orders at least as well."""

from dataclasses import replace

import pytest

from cityline.triage import gate, service
from cityline.triage.gate import RULES_ONLY, Scores, decide
from cityline.triage.history import shipped_records

# --- the decision, from figures alone -------------------------------------------------------------


def test_at_least_as_good_on_both_figures_takes_over():
    verdict = decide(Scores(0.96, 0.86), Scores(0.96, 0.85), "model-3")
    assert verdict.activate and not verdict.forced
    assert verdict.reason == ("at least as good as model-3 (urgent recall 0.9600 ≥ 0.9600, "
                              "category macro-F1 0.8600 ≥ 0.8500)")
    assert decide(Scores(0.9, 0.8), Scores(0.9, 0.8), "model-3").activate  # a tie is as good


@pytest.mark.parametrize(("candidate", "worse"), [(Scores(0.95, 0.90), "urgent recall"),
                                                  (Scores(0.99, 0.8499), "category macro-F1"),
                                                  (Scores(0.90, 0.80), "urgent recall and category macro-F1")])
def test_worse_on_either_figure_stays_inactive(candidate, worse):
    verdict = decide(candidate, Scores(0.96, 0.85), "model-3")
    assert not verdict.activate and verdict.reason.startswith(f"worse than model-3 on {worse} (")


def test_force_activates_and_says_what_it_overrode():
    verdict = decide(Scores(0.90, 0.80), Scores(0.96, 0.85), RULES_ONLY, force=True)
    assert verdict.activate and verdict.forced
    assert verdict.reason.startswith("forced although worse than the lexicon alone on urgent recall")
    assert not decide(Scores(0.97, 0.9), Scores(0.96, 0.85), "model-1", force=True).forced  # passed anyway


def test_without_urgent_orders_only_the_category_decides():
    assert decide(Scores(None, 0.9), Scores(None, 0.85), "model-1").activate
    assert not decide(Scores(None, 0.8), Scores(0.99, 0.85), "model-1").activate
    assert decide(Scores(None, 0.8), Scores(None, 0.8), "model-1").activate


def test_scores_come_from_an_evaluation_report():
    report = {"category": {"macro_f1": 0.8123},
              "urgency": {"per_label": {"urgent": {"recall": 0.97, "support": 30}}}}
    assert Scores.of(report) == Scores(0.97, 0.8123)
    report["urgency"]["per_label"]["urgent"]["support"] = 0  # predicted urgent, none labelled so
    assert Scores.of(report).urgent_recall is None


def test_the_held_back_orders_are_the_demos_fifth_and_never_learnt_from():
    shipped = list(shipped_records())
    judge = gate.held_back(shipped)
    assert judge == gate.held_back(list(shipped_records()))  # the same draw every time
    assert len(judge) == len(shipped) - int(len(shipped) * 0.8)
    learn = gate.learnable(shipped, judge)
    assert len(learn) + len(judge) == len(shipped)
    assert not {r.text for r in learn} & {r.text for r in judge}
    # The same text from the store (other labels, even) is dropped too.
    assert gate.learnable([replace(judge[0], category="GEN.OTHER")], judge) == []


# --- train, judge and store on a small store --------------------------------------------------------

@pytest.fixture(scope="module")
def small():
    """A small judge set and correctly / wrongly labelled training sets from the shipped history."""
    shipped = list(shipped_records())
    judge = gate.held_back(shipped)[:150]
    learn = gate.learnable(shipped, gate.held_back(shipped))[:1200]  # 600 would not beat the lexicon alone
    categories = sorted({r.category for r in learn})
    # Every category moved to the next one: a model that learnt this is worse by construction.
    shifted = {c: categories[(i + 1) % len(categories)] for i, c in enumerate(categories)}
    wrong = [replace(r, category=shifted[r.category], urgency="normal") for r in learn]
    return judge, learn, wrong


def test_a_better_model_takes_over_a_worse_one_stays_inactive_and_force_overrides(factory, small):
    judge, learn, wrong = small
    first = gate.train_behind_gate(factory, [*learn, *judge], judge, metrics={"source": "test"})
    assert (first.version, first.active, first.incumbent_name) == (1, True, RULES_ONLY)
    assert first.trained_on == len(learn)  # the held-back orders given to learn from were dropped
    assert first.judged_on == len(judge)

    worse = gate.train_behind_gate(factory, wrong, judge)
    assert (worse.version, worse.active, worse.incumbent_name) == (2, False, "model-1")
    assert worse.verdict.reason.startswith("worse than model-1 on")
    assert worse.candidate.category_macro_f1 < worse.incumbent.category_macro_f1
    assert worse.incumbent == first.candidate  # the active model, judged on the same orders
    with factory() as session:
        assert service.active_version(session).version == 1
        stored = service.list_versions(session)[1].metrics
        assert stored["gate"]["activated"] is False and stored["gate"]["incumbent"] == "model-1"
        assert stored["gate"]["candidate"]["category_macro_f1"] == worse.candidate.category_macro_f1

    forced = gate.train_behind_gate(factory, wrong, judge, force=True)
    assert forced.active and forced.verdict.forced and forced.verdict.reason.startswith("forced although worse")
    better = gate.train_behind_gate(factory, learn, judge, report_on=learn[:40])
    assert better.active and better.incumbent_name == "model-3" and better.report["n"] == 40
    with factory() as session:
        assert service.active_version(session).version == 4
        assert service.list_versions(session)[3].metrics["n"] == 40  # the extra report is stored with it


def test_without_held_back_orders_nothing_is_activated_unless_forced(factory, small):
    _judge, learn, _wrong = small
    held = gate.train_behind_gate(factory, learn[:100], [])
    assert not held.active and held.verdict.reason == "no held-back orders to judge on"
    assert gate.train_behind_gate(factory, learn[:100], [], force=True).active


def test_the_demo_trains_through_the_same_gate_on_the_same_held_back_orders(factory, monkeypatch):
    from cityline import demo
    from tests.triage.conftest import examples

    calls = []

    def recorded(factory, records, judge, **options):
        calls.append((len(records), judge, options))
        return gate.GateOutcome(len(calls), False, gate.Verdict(False, "recorded"), Scores(None, 0.0),
                                Scores(None, 0.0), RULES_ONLY, len(judge), len(records), {}, {})

    monkeypatch.setattr(gate, "train_behind_gate", recorded)
    monkeypatch.setattr(service, "training_records", lambda session: examples(copies=2))
    said = []
    assert demo.train_triage(factory, said.append) is None  # nothing passed the (recorded) gate
    shipped = list(shipped_records())
    assert [(n, judge) for n, judge, _ in calls] == [(len(shipped), gate.held_back(shipped)),
                                                     (len(shipped) + 24, gate.held_back(shipped))]
    assert all("force" not in options for _, _, options in calls)
    assert "no trained model passed the gate" in said[-1]


def test_rollback_skips_models_the_gate_held_back(session):
    from cityline.triage.model import train
    from tests.triage.conftest import examples

    model = train(examples())
    passed = {"gate": {"activated": True}}
    service.save_model(session, model, passed)
    service.save_model(session, model, {"gate": {"activated": False}}, active=False)  # never in use
    service.save_model(session, model, passed)
    assert service.rollback(session).version == 1
    with pytest.raises(service.NoModelError, match="oldest version the gate let through"):
        service.rollback(session)
