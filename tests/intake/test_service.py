"""The one order builder every way in uses: labels filled by triage only where empty, the
stored values of a new order with the caller's phone protected."""

from datetime import UTC, datetime

from cityline.intake.service import fill_labels, order_columns
from cityline.privacy import Vault

PREDICTION = {"kind": "help", "category": "EPI.MEDICAL", "urgency": "urgent", "special_groups": ["elderly"],
              "language": "zh", "needs_confirmation": True}


def classify(text, language):
    return dict(PREDICTION)


def test_triage_fills_only_what_was_left_empty():
    labels, prediction = fill_labels("老人透析药吃完了", {"category": "EPI.SUPPLY"}, classify, source="manual")
    assert prediction == PREDICTION
    assert labels == {"kind": "help", "category": "EPI.SUPPLY", "urgency": "urgent", "special_groups": ["elderly"],
                      "language": "zh", "triage_source": "model"}


def test_labels_given_in_full_are_kept_and_triage_is_not_asked():
    given = {"kind": "complaint", "category": "GEN.ENVIRONMENT", "urgency": "normal"}
    labels, prediction = fill_labels("楼上装修噪声很大", given, lambda *_: 1 / 0, source="import")
    assert prediction is None
    assert labels == {**given, "special_groups": [], "language": None, "triage_source": "import"}


def test_a_new_order_is_received_with_the_phone_protected():
    labels, prediction = fill_labels("老人透析药吃完了", {}, classify, source="manual")
    values = order_columns(number="20200128-00001", text="老人透析药吃完了", received_at=datetime(2020, 1, 28, tzinfo=UTC),
                           channel="phone", labels=labels, prediction=prediction, vault=Vault("test-secret"),
                           caller_phone="13800001234", district="静安区")
    assert values["status"] == "received" and values["needs_confirmation"] is True
    assert values["caller_phone_masked"] == "138****1234"
    assert "13800001234" not in str(values["caller_phone_enc"]) and values["caller_phone_digest"]
    assert (values["category"], values["district"]) == ("EPI.MEDICAL", "静安区")
