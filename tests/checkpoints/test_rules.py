"""The checkpoint rules, pure: plates, flags at the 48-hour edge, risk origins matched as arrivals
are, the closed loop's overdue instant, and the counts per checkpoint and hour."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from cityline.checkpoints import rules
from cityline.epidemic.areas import resolve
from cityline.epidemic.places import RiskWindow
from cityline.epidemic.rules import Params

RULES = rules.load_rules()
SH = ZoneInfo("Asia/Shanghai")
AT = datetime(2022, 4, 20, 10, 30, tzinfo=SH)


def test_plates_are_read_in_one_form_and_masked():
    assert rules.normalise_plate(" 宁a·12345 ") == "宁A12345"
    assert rules.normalise_plate("苏C-D12345") == "苏CD12345"  # new-energy: six after the letter
    assert rules.normalise_plate("宁A1234") is None and rules.normalise_plate("12345678") is None
    assert rules.mask_plate("宁A12345") == "宁A***45"


def test_a_negative_test_48_hours_old_is_flagged_47_59_is_not():
    def flags(tested_at, code="green"):
        return rules.person_flags(rules.Aboard("passenger", code, tested_at), AT, RULES)

    assert flags(AT - timedelta(hours=47, minutes=59)) == []
    assert flags(AT - timedelta(hours=48)) == ["test_too_old"]
    assert flags(None) == ["no_test"]
    assert flags(AT - timedelta(hours=1), "yellow") == ["code_yellow"]
    people = [rules.Aboard("driver", "green", AT), rules.Aboard("passenger", "red", AT)]
    assert rules.turns_back(people, RULES) and not rules.turns_back(people[:1], RULES)


def test_a_risk_origin_is_matched_as_an_arrival_is():
    risks = [RiskWindow("内蒙古自治区呼和浩特市赛罕区", "high", date(2022, 4, 10), date(2022, 4, 20),
                        resolve("内蒙古自治区呼和浩特市赛罕区")),
             RiskWindow("宁夏回族自治区银川市兴庆区", "low", date(2022, 4, 1), None, resolve("宁夏回族自治区银川市兴庆区"))]
    params = Params()
    found = rules.risk_origin("呼和浩特市赛罕区", AT, risks, params, RULES, resolve)
    assert found is not None and (found.risk_area, found.level) == ("内蒙古自治区呼和浩特市赛罕区", "high")
    # the area was lifted after the 20th (inclusive), a low area opens no loop, an unknown name nothing
    assert rules.risk_origin("呼和浩特市赛罕区", AT + timedelta(days=1), risks, params, RULES, resolve) is None
    assert rules.risk_origin("银川市兴庆区", AT, risks, params, RULES, resolve) is None
    assert rules.risk_origin("朝阳区", AT, risks, params, RULES, resolve) is None  # reads two ways


def test_a_loop_is_overdue_from_its_48th_hour_until_the_vehicle_left():
    leave_by = rules.must_leave_by(AT, RULES)
    assert leave_by == AT + timedelta(hours=48)
    assert not rules.overdue(leave_by, None, leave_by - timedelta(seconds=1))
    assert rules.overdue(leave_by, None, leave_by)
    assert not rules.overdue(leave_by, leave_by - timedelta(hours=1), leave_by + timedelta(hours=1))
    assert not rules.overdue(None, None, leave_by)


def test_counts_per_checkpoint_and_local_hour():
    rows = [rules.Counted("A", AT, "in", "passed", 1, None),
            rules.Counted("A", AT + timedelta(minutes=20), "in", "turned_back", 0, None),
            rules.Counted("A", AT + timedelta(minutes=25), "left", "left", 0, None),
            rules.Counted("B", AT - timedelta(days=2), "in", "passed", 0, AT + timedelta(minutes=5))]
    found = rules.hourly(rows, SH, AT - timedelta(hours=1), AT + timedelta(hours=2))
    assert [c.as_dict() for c in found] == [
        {"checkpoint": "A", "hour": "2022-04-20T10:00:00+08:00", "vehicles": 2, "turned_back": 1, "left": 1,
         "flagged": 1, "warnings": 0},
        {"checkpoint": "B", "hour": "2022-04-20T10:00:00+08:00", "vehicles": 0, "turned_back": 0, "left": 0,
         "flagged": 0, "warnings": 1}]
    assert found[0].hour.astimezone(UTC).hour == 2
