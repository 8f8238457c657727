"""The §7 rules without a database: boundaries, to the minute."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from cityline.epidemic import codes
from cityline.epidemic.areas import Area, inside, resolve
from cityline.epidemic.contacts import (
    household_contacts,
    seat_row,
    tier1_contacts,
    tier2_contacts,
    trip_contacts,
    venue_contacts,
)
from cityline.epidemic.places import RiskWindow, arrivals, place_counts, zones
from cityline.epidemic.rules import (
    CaseRecord,
    Contact,
    Params,
    Person,
    Scan,
    Test,
    Trip,
    Visit,
    contact_cases,
    coverage,
    decide_pass,
    exposure_window,
    household_key,
    overlap,
    pass_status,
    revokes,
    visits,
)
from tests.epidemic import world
from tests.epidemic.world import AT, SH, at

P = Params()


def t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, 4, day, hour, minute, tzinfo=SH)


# -- exposure window ------------------------------------------------------------------------------


def test_exposure_window_starts_48_hours_before_the_earlier_of_onset_and_sample():
    case = CaseRecord("C", reported_at=t(10, 12), onset_at=t(8, 9), sampled_at=t(9, 7))
    assert exposure_window(case, P) == (t(6, 9), t(10, 12))
    assert exposure_window(CaseRecord("C", t(10, 12), sampled_at=t(9, 7)), P) == (t(7, 7), t(10, 12))
    assert exposure_window(CaseRecord("C", t(10, 12)), P) == (t(8, 12), t(10, 12))


# -- visits --------------------------------------------------------------------------------------


def test_a_visit_ends_at_check_out_or_60_minutes_or_the_next_scan_or_midnight():
    scans = [
        Scan("A", "V1", t(1, 9), left_at=t(1, 11)),  # check-out recorded: 2 hours
        Scan("B", "V1", t(1, 9)),  # nothing else: 60 minutes
        Scan("C", "V1", t(1, 9)), Scan("C", "V2", t(1, 9, 25)),  # next scan anywhere after 25 minutes
        Scan("D", "V1", t(1, 23, 30)),  # the day ends first
        Scan("E", "V1", t(1, 9)), Scan("E", "V2", t(1, 9)),  # a scan at the same minute is not "next"
    ]
    ends = {(v.person_id, v.venue_code): v.end for v in visits(scans, P)}
    assert ends[("A", "V1")] == t(1, 11)
    assert ends[("B", "V1")] == t(1, 10)
    assert ends[("C", "V1")] == t(1, 9, 25) and ends[("C", "V2")] == t(1, 10, 25)
    assert ends[("D", "V1")] == t(2, 0)
    assert ends[("E", "V1")] == t(1, 10) == ends[("E", "V2")]


def test_overlap_of_spans():
    assert overlap((t(1, 9), t(1, 10)), (t(1, 9, 30), t(1, 11))) == timedelta(minutes=30)
    assert overlap((t(1, 9), t(1, 10)), (t(1, 10), t(1, 11))) == timedelta(0)


# -- contacts -------------------------------------------------------------------------------------

CASE = CaseRecord("C", reported_at=t(10, 12), onset_at=t(9, 12))  # window 7th 12:00 .. 10th 12:00


def test_household_counts_present_members_only():
    residents = [Person("C", "区", "街道", "小区", "1号楼", "1单元", "101"),
                 Person("H1", "区", "街道", "小区", "1号楼", "1单元", "101"),
                 Person("H2", "区", "街道", "小区", "1号楼", "1单元", "101", status="away"),
                 Person("N", "区", "街道", "小区", "1号楼", "1单元", "102"),
                 Person("K", "区", "街道", "小区", "9号楼", household_id="C-HOME")]
    assert [c.person for c in household_contacts(CASE, residents)] == ["H1"]
    # a person with neither household code nor room lives alone
    assert household_key(None, "区", "街道", "小区", "1号楼", None, None) is None
    assert household_contacts(CaseRecord("K", t(10, 12)), residents) == []


def test_venue_overlap_counts_15_minutes_inside_the_window_from_one_pair_of_visits():
    def v(person, start, end, kind="restaurant", venue="V1"):
        return Visit(person, venue, kind, start, end)

    found = venue_contacts(CASE, [
        v("C", t(8, 12), t(8, 13)),
        v("A", t(8, 12, 45), t(8, 14)),  # 15 minutes: enough
        v("B", t(8, 12, 46), t(8, 14)),  # 14 minutes: not
        v("B", t(8, 12, 0), t(8, 12, 10)),  # … and another 10 minutes are not added to it
        v("D", t(8, 12), t(8, 13), venue="V2"),  # another venue
        v("C", t(7, 11, 30), t(7, 12, 20), kind="workplace", venue="W"),  # half outside the window
        v("E", t(7, 11, 30), t(7, 12, 20), kind="workplace", venue="W"),  # 20 minutes inside it
        v("F", t(7, 11, 30), t(7, 12, 10), kind="workplace", venue="W"),  # 10 minutes inside it
        v("C", t(9, 8), t(9, 9), kind="shop", venue="S"), v("G", t(9, 8), t(9, 9), kind="shop", venue="S"),
    ], P)
    assert [(c.person, c.relation, c.overlap_minutes) for c in found] == [
        ("A", "meal", 15), ("E", "workplace", 20), ("G", "venue", 60)]


def test_fellow_passengers():
    mine = Trip("C", "train", t(8, 13), "武汉市", "G123", t(8, 8), "05", "12F")
    others = [
        Trip("A", "train", t(8, 13), "武汉市", " g123 ", t(8, 8), "5", "14A"),  # same carriage, 2 rows
        Trip("B", "train", t(8, 13), "武汉市", "G123", t(8, 8), "05", "15A"),  # 3 rows: no
        Trip("D", "train", t(8, 13), "武汉市", "G123", None, None, None),  # no carriage, no seat: yes
        Trip("E", "train", t(8, 13), "武汉市", "G123", t(8, 8), "06", "12A"),  # other carriage: no
        Trip("F", "flight", t(8, 13), "武汉市", "G123", t(8, 8)),  # other mode: no
        Trip("G", "train", t(9, 13), "武汉市", "G123", t(9, 8)),  # other date: no
        Trip("H", "train", t(8, 13), "武汉市", "G123", t(8, 8), "05", "A"),  # a seat without a row: yes
    ]
    assert [c.person for c in trip_contacts(CASE, [mine, *others], P)] == ["A", "D", "H"]
    early = Trip("C", "train", t(7, 13), "武汉市", "G1", t(7, 11, 59))  # departed before the window
    assert trip_contacts(CASE, [early, Trip("X", "train", t(7, 13), "x", "G1", t(7, 11, 59))], P) == []
    assert seat_row("12F") == 12 and seat_row("F") is None


def test_tier2_are_present_households_of_tier1_once_each():
    residents = [Person("C", "区", "街道", "小区", "1号楼", None, "1"), Person("A", "区", "街道", "小区", "2号楼", None, "2"),
                 Person("A2", "区", "街道", "小区", "2号楼", None, "2"), Person("A3", "区", "街道", "小区", "2号楼", None, "2",
                                                                     status="moved_out"),
                 Person("B", "区", "街道", "小区", "2号楼", None, "2")]
    first = [c for c in tier1_contacts(CASE, residents=residents, visits=[], trips=[], params=P)]
    assert first == []
    tier1 = [Contact("C", "A", 1, "meal"), Contact("C", "B", 1, "trip")]
    assert [(c.person, c.via, c.tier) for c in tier2_contacts(CASE, tier1, residents)] == [("A2", "A", 2)]


# -- passes ---------------------------------------------------------------------------------------


def decide(tests, **kw):
    return decide_pass("P", tests, case_reported_at=kw.pop("case", None), at=AT, params=P, **kw)


@pytest.mark.parametrize(("before", "issued"), [(timedelta(hours=47, minutes=59), True),
                                                  (timedelta(hours=48), False),
                                                  (timedelta(hours=48, minutes=1), False)])
def test_a_pass_needs_a_negative_sampled_after_at_minus_48_hours(before, issued):
    decision = decide([Test("P", AT - before, "negative")])
    assert decision.issued is issued
    if issued:
        assert decision.valid_until == AT - before + timedelta(hours=48)
    else:
        assert decision.reason == "test_too_old"


def test_the_latest_test_with_a_result_counts_and_pending_waits():
    assert decide([Test("P", at(-10), "negative"), Test("P", at(-2), "pending")]).sampled_at == at(-10)
    assert decide([Test("P", at(-2), "pending")]).reason == "no_result"
    assert decide([]).reason == "no_result"
    assert decide([Test("P", at(-10), "negative"), Test("P", at(1), "negative")]).sampled_at == at(-10)  # not known yet
    assert decide([Test("Q", at(-1), "negative")]).reason == "no_result"  # someone else's


def test_never_positive_not_a_case_not_a_contact():
    negative = Test("P", at(-1), "negative")
    assert decide([Test("P", at(-24 * 60), "positive"), negative]).reason == "positive"
    assert decide([Test("P", at(2), "positive"), negative]).issued  # not known at AT
    assert decide([negative], case=at(-1)).reason == "case"
    assert decide([negative], case=at(1)).issued
    assert decide([negative], contact_of=["C1"]).reason == "contact"


def test_contact_cases_are_those_reported_within_14_days_up_to_at():
    cases = [CaseRecord("A", AT - timedelta(days=14)), CaseRecord("B", AT - timedelta(days=14) + timedelta(minutes=1)),
             CaseRecord("C", AT), CaseRecord("D", AT + timedelta(minutes=1))]
    assert [c.person_id for c in contact_cases(cases, AT, P)] == ["B", "C"]


def test_pass_status_and_revocation():
    until = at(48)
    assert pass_status(until, at(47, 59), revoked=False) == "valid"
    assert pass_status(until, until, revoked=False) == "expired"
    assert pass_status(until, at(1), revoked=True) == "revoked"
    assert pass_status(until, at(60), revoked=True) == "revoked"
    assert revokes([Test("P", at(5), "positive")], None, "P", at(6)) == "positive"
    assert revokes([Test("P", at(5), "positive")], None, "P", at(4)) is None
    assert revokes([], at(3), "P", at(4)) == "case"


# -- coverage -------------------------------------------------------------------------------------


def test_coverage_counts_present_residents_with_any_test_on_the_local_dates():
    people = [Person("A", "区", "街", "小区", "1号楼"), Person("B", "区", "街", "小区", "1号楼"),
              Person("C", "区", "街", "小区", "1号楼", status="away"), Person("D", "区", "街", "小区", None),
              Person("E", "区", "街", "小区", "1号楼", status="moved_out"), Person("F", "区", "街", "小区", None)]
    tests = [Test("A", datetime(2022, 4, 10, 23, 59, tzinfo=SH), "pending", "antigen"),
             Test("B", datetime(2022, 4, 11, 0, 0, tzinfo=SH), "negative"),  # the day after U
             Test("C", datetime(2022, 4, 10, 9, 0, tzinfo=SH), "negative"),  # away: not counted at all
             Test("D", datetime(2022, 4, 7, 23, 59, tzinfo=SH), "positive"),  # the day before S
             Test("F", datetime(2022, 4, 8, 0, 30, tzinfo=SH), "negative")]  # the 8th here, the 7th in UTC
    found = coverage(people, tests, date(2022, 4, 8), date(2022, 4, 10), P)
    assert [(r.building, r.present, r.tested, r.coverage) for r in found.rows] == [(None, 2, 1, 0.5), ("1号楼", 2, 1, 0.5)]
    assert [p.person_id for p in found.untested] == ["D", "B"]


# -- zones ----------------------------------------------------------------------------------------


def world_people() -> list[Person]:
    people = []
    for row in world.RESIDENTS:
        pid, _n, _i, _p, d, s, c, b, u, r, h, g, status = row
        people.append(Person(pid, d, s, c, b or None, u or None, r or None, h or None, g or None,
                             {"": "present", "在住": "present"}.get(status, status)))
    return people


def world_cases() -> list[CaseRecord]:
    return [CaseRecord(p, r, o or None, s or None) for p, r, o, s, _k in world.CASES]


def test_zones_of_the_world():
    people = world_people()
    found = zones(world_cases(), {p.person_id: p for p in people}, place_counts(people), world.DAY, P)
    assert [(z.level, z.street, z.compound, z.building, z.population) for z in found] == [
        ("sealed", "曹家渡街道", "月亮小区", "1号楼", 2),
        ("sealed", "曹家渡街道", "月亮小区", "2号楼", 1),
        ("sealed", "江宁路街道", "星星小区", None, 1),  # a case without a building seals its compound
        ("controlled", "曹家渡街道", "月亮小区", None, 1),
        ("precaution", "曹家渡街道", None, None, 6),
        ("precaution", "江宁路街道", None, None, 8),
    ]


def test_a_zone_is_listed_even_when_no_one_is_left_in_it_and_the_strictest_wins():
    home = Person("C", "区", "街", "小区", "1号楼")
    cases = [CaseRecord("C", AT)]
    found = zones(cases, {"C": home}, {}, AT.date(), P)
    assert [(z.level, z.population) for z in found] == [("sealed", 0), ("controlled", 0), ("precaution", 0)]
    # a second case without a building seals the whole compound: the building zone and the
    # controlled rest are inside it
    cases.append(CaseRecord("D", AT))
    found = zones(cases, {"C": home, "D": Person("D", "区", "街", "小区", None)}, {("区", "街", "小区", "1号楼"): 3},
                  AT.date(), P)
    assert [(z.level, z.compound, z.building, z.population) for z in found] == [
        ("sealed", "小区", None, 3), ("precaution", None, None, 0)]


def test_zones_come_from_cases_reported_from_d_minus_13_to_d():
    home = {"C": Person("C", "区", "街", "小区", "1号楼")}
    assert zones([CaseRecord("C", datetime(2022, 3, 28, 0, 0, tzinfo=SH))], home, {}, date(2022, 4, 10), P)
    assert not zones([CaseRecord("C", datetime(2022, 3, 27, 23, 59, tzinfo=SH))], home, {}, date(2022, 4, 10), P)
    assert not zones([CaseRecord("C", datetime(2022, 4, 11, 0, 0, tzinfo=SH))], home, {}, date(2022, 4, 10), P)


# -- areas and arrivals ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "levels"), [
    ("湖北省武汉市江汉区民族街道", ("湖北省", "武汉市", "江汉区", "民族街道", None)),
    ("长春市南关区", ("吉林省", "长春市", "南关区", None, None)),
    ("吉林市丰满区", ("吉林省", "吉林市", "丰满区", None, None)),
    ("北京市朝阳区", ("北京市", "北京市", "朝阳区", None, None)),
    ("上海", ("上海市", "上海市", None, None, None)),
    ("湖北省仙桃市", ("湖北省", None, "仙桃市", None, None)),
    ("哈尔滨市道里区", ("黑龙江省", "哈尔滨市", "道里区", None, None)),
])
def test_names_resolve_to_levels_with_the_province_implied(name, levels):
    assert resolve(name).levels() == levels


def test_ambiguous_or_unknown_names_resolve_to_nothing():
    assert resolve("朝阳区") is None and resolve("某某地方") is None and resolve("") is None


def test_every_level_the_risk_area_names_must_equal_the_trips():
    assert not inside(resolve("湖北省武汉市江汉区"), resolve("湖北省武汉市江汉区民族街道"))
    assert inside(resolve("湖北省武汉市江汉区民族街道"), resolve("武汉市江汉区"))
    assert not inside(resolve("吉林市丰满区"), resolve("吉林省吉林市船营区"))
    assert inside(resolve("长春市南关区"), resolve("吉林省"))
    assert inside(Area("a", "b", "c"), Area("a", None, None))


def world_trips() -> list[Trip]:
    return [Trip(p, {"高铁": "train"}.get(m, m), a, f, n.strip() or None, d or None, c or None, s or None)
            for p, m, n, d, a, f, c, s in world.TRIPS]


def world_risks() -> list[RiskWindow]:
    levels = {"高": "high", "中": "medium", "低": "low"}
    return [RiskWindow(a, levels.get(lv, lv), date.fromisoformat(f), date.fromisoformat(u) if u else None, resolve(a))
            for a, lv, f, u in world.RISK_AREAS]


def test_arrivals_of_the_world():
    found = arrivals(world_trips(), world_risks(), world.DAY, P, resolve)
    expected = {p: v for p, v in world.EXPECTED_ARRIVALS.items() if v}
    assert {a.person: (a.risk_area, a.level) for a in found} == expected
    latest = next(a for a in found if a.person == "A08")
    assert latest.trip_no == "CZ1"


def test_the_strictest_matching_area_is_reported():
    trip = Trip("P", "train", at(-24), "湖北省武汉市江汉区民族街道", "G1", at(-30))
    risks = [RiskWindow("湖北省", "medium", date(2022, 1, 1), None, resolve("湖北省")),
             RiskWindow("武汉市", "high", date(2022, 1, 1), None, resolve("武汉市")),
             RiskWindow("湖北省武汉市江汉区", "high", date(2022, 1, 1), None, resolve("湖北省武汉市江汉区"))]
    (found,) = arrivals([trip], risks, AT.date(), P, resolve)
    assert (found.level, found.risk_area) == ("high", "湖北省武汉市江汉区")  # strictest, then most specific


# -- codes ----------------------------------------------------------------------------------------

KEY = b"k" * 32


def test_a_code_reads_back_and_any_changed_character_makes_it_invalid():
    code = codes.sign(KEY, 7, "P0001", AT)
    claims = codes.read(KEY, code)
    assert (claims.serial, claims.person, claims.valid_until) == (7, "P0001", AT)
    assert code.isalnum() and code.isupper() and len(code) < 60
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    for i, char in enumerate(code):
        changed = code[:i] + alphabet[(alphabet.index(char) + 1) % 32] + code[i + 1:]
        assert codes.read(KEY, changed) is None, i
    assert codes.read(KEY, code.lower()) is None
    assert codes.read(KEY, "HELLO") is None and codes.read(KEY, "") is None
    assert codes.read(b"x" * 32, code) is None  # another secret
    assert codes.read(KEY, code[:-1]) is None and codes.read(KEY, code + "A") is None
