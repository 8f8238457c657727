"""The dispatch catalogue's choices, without a database."""

from cityline.routing.rules import (
    Candidate,
    Rule,
    UnitInfo,
    auto_dispatch_unit,
    candidates,
    rule_problems,
)

UNITS = [UnitInfo("JA", "centre", "静安区", None), UnitInfo("JA-CJD", "street_office", "静安区", "曹家渡街道"),
         UnitInfo("JA-JNL", "street_office", "静安区", "江宁路街道"), UnitInfo("SH-DSJ", "department", None, None)]
RULES = [Rule("GEN.ENVIRONMENT", level="street"), Rule("EPI.CODE", unit="SH-DSJ"), Rule("EPI.", level="district"),
         Rule("GEN.ENVIRONMENT", unit="SH-DSJ", district="静安区", street="江宁路街道")]


def test_local_problem_goes_to_the_street_office():
    found = candidates("GEN.ENVIRONMENT", "静安区", "曹家渡街道", RULES, UNITS)
    assert found[0] == Candidate("JA-CJD", 1.0, found[0].reason)


def test_a_rule_for_a_place_beats_the_city_wide_rule():
    assert candidates("GEN.ENVIRONMENT", "静安区", "江宁路街道", RULES, UNITS)[0].unit == "SH-DSJ"


def test_unknown_street_falls_back_to_the_district_centre_with_less_confidence():
    found = candidates("GEN.ENVIRONMENT", "静安区", None, RULES, UNITS)
    assert (found[0].unit, found[0].confidence) == ("JA", 0.5)


def test_exact_category_beats_its_branch_and_no_place_gives_the_department_only():
    assert [c.unit for c in candidates("EPI.CODE", "静安区", "曹家渡街道", RULES, UNITS)] == ["SH-DSJ", "JA"]
    assert [c.unit for c in candidates("EPI.CODE", None, None, RULES, UNITS)] == ["SH-DSJ"]
    assert candidates("GEN.OTHER", "静安区", None, RULES, UNITS) == []
    assert candidates(None, "静安区", None, RULES, UNITS) == []


def test_auto_dispatch_needs_confidence_and_not_a_consultation():
    sure = [Candidate("JA-CJD", 1.0, "")]
    assert auto_dispatch_unit(sure, 0.9, "complaint", 0.6) == "JA-CJD"
    assert auto_dispatch_unit(sure, 0.4, "complaint", 0.6) is None
    assert auto_dispatch_unit(sure, 0.9, "consult", 0.6) is None
    assert auto_dispatch_unit([Candidate("JA", 0.5, "")], 0.9, "help", 0.6) is None


def test_rule_problems_are_named():
    assert rule_problems(Rule("EPI.X", unit="A", level="street"))
    assert "level 'town'" in rule_problems(Rule("EPI.X", level="town"))[0]
    assert rule_problems(Rule("EPI.X", unit="A", street="曹家渡街道"))
