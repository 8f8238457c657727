"""Policies as data: the shipped defaults, choosing a policy, clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityline.sla.policy import Duration, PolicyError, load_policies

GOOD = """
[calendar]
working_hours = ["09:00-12:00", "13:00-17:30"]

[life_safety]
categories = ["EPI.MEDICAL"]

[defaults]
accept_within = "20m"

[[policy]]
name = "urgent"
urgency = "urgent"
respond_within = "1h"
resolve_within = "12h"
calendar = "24x7"

[[policy]]
name = "normal"
urgency = "normal"
respond_within = "1wd"
resolve_within = "5wd"

[[policy]]
name = "normal_utilities"
urgency = "normal"
categories = ["GEN.UTILITIES"]
respond_within = "4h"
resolve_within = "3wd"
warn_share = 0.5
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policies.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_defaults_follow_the_shanghai_practice():
    policies = load_policies()
    life = policies.policy_for("urgent", "EPI.MEDICAL")
    assert (life.name, str(life.resolve_within), life.calendar) == ("urgent_life_safety", "2h", "24x7")
    other = policies.policy_for("urgent", "EPI.MASK")
    assert (other.name, str(other.resolve_within)) == ("urgent", "24h")
    sub = policies.policy_for("sub_urgent", "EPI.TEST")
    assert (str(sub.respond_within), str(sub.resolve_within)) == ("1wd", "2wd")
    assert policies.policy_for("normal").resolve_within.unit == "working_days"


def test_life_safety_comes_from_category_special_group_or_intake_flag():
    policies = load_policies()
    assert policies.policy_for("urgent", "EPI.MASK", ["elderly"]).name == "urgent_life_safety"
    assert policies.policy_for("urgent", "EPI.MASK", ["foreigner"]).name == "urgent"
    assert policies.policy_for("urgent", "GEN.OTHER", life_safety=True).name == "urgent_life_safety"


def test_emergency_mode_switches_to_24x7():
    policies = load_policies()
    assert policies.policy_for("normal").calendar == "working"
    emergency = policies.policy_for("normal", emergency=True)
    assert emergency.calendar == "24x7"
    assert policies.calendar_for(emergency).always_open


def test_a_deployment_file_with_a_category_policy(tmp_path):
    policies = load_policies(write(tmp_path, GOOD))
    chosen = policies.policy_for("normal", "GEN.UTILITIES")
    assert (chosen.name, chosen.warn_share, str(chosen.accept_within)) == ("normal_utilities", 0.5, "20m")
    assert policies.policy_for("normal", "GEN.HOUSING").name == "normal"
    assert len(policies.calendar.working_hours) == 2


def test_unknown_urgency_is_an_error():
    with pytest.raises(PolicyError, match="no policy for urgency 'very_urgent'"):
        load_policies().policy_for("very_urgent")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('resolve_within = "12h"', 'resolve_within = "12 hours"'), r"'resolve_within': cannot read"),
        (('calendar = "24x7"', 'calendar = "always"'), r"key 'calendar' must be one of"),
        (("warn_share = 0.5", "warn_share = 1.5"), r"'warn_share' must be a number between 0 and 1"),
        (('respond_within = "4h"', 'respond_whithin = "4h"'), r"unknown key\(s\) \['respond_whithin'\]"),
        (('"09:00-12:00"', '"9-12"'), r"'working_hours': '9-12' is not HH:MM-HH:MM"),
        (('name = "normal"\nurgency', 'name = "normal"\ncategories = ["GEN.HOUSING"]\nurgency'),
         r"urgency 'normal' has no policy without conditions"),
        (("[defaults]", "[defaults"), r"not valid TOML"),
    ],
)
def test_a_wrong_file_names_the_key_and_the_file(tmp_path, change, message):
    old, new = change
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(PolicyError, match=message) as caught:
        load_policies(path)
    assert str(path) in str(caught.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(PolicyError, match="policy file not found"):
        load_policies(tmp_path / "nowhere.toml")


def test_durations():
    assert Duration.parse("30m") == Duration(30, "minutes")
    assert Duration.parse("2h") == Duration(120, "minutes")
    assert Duration.parse("2wd") == Duration(2, "working_days")
    for bad in ("0wd", "2d", "", "h"):
        with pytest.raises(ValueError):
            Duration.parse(bad)
