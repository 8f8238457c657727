"""Clusters and places of exposure without a database: the contacts come from the §7 rules
(``contacts.py``) over a handful of people, the clusters from ``clusters.py``.

Day D = 2022-04-10. A chain: case A eats with case B (30 minutes at 好味餐厅), B lives with
case C. A pair: cases D and E on the same train. F is a lone case. X (not a case) ate beside
A and B; H lives with X (tier 2 of A and B through X).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from cityline.epidemic.clusters import (
    case_links,
    cluster_of,
    clusters,
    exposure_places,
    graph,
    span,
)
from cityline.epidemic.contacts import tier1_contacts, tier2_contacts
from cityline.epidemic.rules import CaseRecord, Contact, Params, Person, Scan, Trip, visits
from tests.epidemic.world import SH

DAY = date(2022, 4, 10)
PARAMS = Params()


def moment(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, 4, day, hour, minute, tzinfo=SH)


def person(pid: str, household: str | None = None, status: str = "present") -> Person:
    return Person(pid, "静安区", "曹家渡街道", "月亮小区", "1号楼", "1单元", None, household, None, status)


RESIDENTS = [person("A"), person("B", "HH-B"), person("C", "HH-B"), person("D"), person("E"), person("F"),
             person("X", "HH-X"), person("H", "HH-X")]
SCANS = [
    Scan("A", "V-REST", moment(8, 12, 0), moment(8, 12, 40), "restaurant", "好味餐厅"),
    Scan("B", "V-REST", moment(8, 12, 10), moment(8, 12, 50), "restaurant", "好味餐厅"),  # 30 min with A
    Scan("X", "V-REST", moment(8, 12, 20), moment(8, 13, 0), "restaurant", "好味餐厅"),  # 20 with A, 30 with B
    Scan("D", "V-SHOP", moment(8, 9, 0), moment(8, 9, 30), "shop", "便利店"),
    Scan("F", "V-SHOP", moment(8, 9, 16), moment(8, 9, 45), "shop", "便利店"),  # 14 min with D: no link
]
TRIPS = [Trip("D", "train", moment(7, 13), "湖北省武汉市", "G123", moment(7, 8), "05", "12F"),
         Trip("E", "train", moment(7, 13), "湖北省武汉市", "g123", moment(7, 8), "5", "13A")]


def case(pid: str, day: int) -> CaseRecord:
    return CaseRecord(pid, moment(day, 9), sampled_at=moment(day - 1, 9))


CASES = [case("A", 9), case("B", 9), case("C", 10), case("D", 8), case("E", 9), case("F", 9)]


def contacts_of(cases: list[CaseRecord]):
    found = []
    for c in cases:
        first = tier1_contacts(c, residents=RESIDENTS, visits=visits(SCANS, PARAMS), trips=TRIPS, params=PARAMS)
        found += first + tier2_contacts(c, first, RESIDENTS)
    return found


def test_a_chain_of_three_a_pair_by_trip_and_a_lone_case():
    contacts = contacts_of(CASES)
    found = clusters(CASES, contacts, DAY, PARAMS)
    assert [(c.id, c.person_ids, c.size) for c in found] == [("A", ["A", "B", "C"], 3), ("D", ["D", "E"], 2)]
    chain, pair = found
    assert {(x.case, x.person, x.relation) for x in chain.links} == {
        ("A", "B", "meal"), ("B", "A", "meal"), ("B", "C", "household"), ("C", "B", "household")}
    assert next(x for x in chain.links if x.case == "A").overlap_minutes == 30
    assert [(x.case, x.person, x.relation) for x in pair.links] == [("D", "E", "trip"), ("E", "D", "trip")]
    assert "F" not in cluster_of(found)  # 14 minutes beside D is no link, and a lone case no cluster
    assert (chain.first_reported, chain.last_reported) == (moment(9, 9), moment(10, 9))


def test_the_id_is_the_earliest_case_whatever_the_order_given():
    contacts = contacts_of(CASES)
    again = clusters(list(reversed(CASES)), list(reversed(contacts)), DAY, PARAMS)
    assert [c.id for c in again] == ["A", "D"]  # A and B both reported on the 9th at 9:00: the smaller id
    earlier = [c if c.person_id != "C" else case("C", 7) for c in CASES]
    assert clusters(earlier, contacts_of(earlier), DAY, PARAMS)[0].id == "C"


def test_a_household_alone_links_and_only_present_members():
    cases = [case("B", 9), case("C", 10)]
    assert [(x.case, x.person) for x in case_links(cases, contacts_of(cases))] == [("B", "C"), ("C", "B")]
    away = [person("B", "HH-B"), person("C", "HH-B", status="away")]
    first = tier1_contacts(cases[0], residents=away, visits=[], trips=[], params=PARAMS)
    assert clusters(cases, first, DAY, PARAMS) == []  # C away: not a household contact of B


def test_growth_counts_the_last_seven_days_against_the_seven_before():
    def reported(pid: str, days_before: int) -> CaseRecord:
        return CaseRecord(pid, datetime(2022, 4, 10, 23, 59, tzinfo=SH) - timedelta(days=days_before))

    cases = [reported("P1", 13), reported("P2", 7), reported("P3", 6), reported("P4", 0), reported("P5", 14)]
    links = [Contact(a, b, 1, "household") for a, b in (("P1", "P2"), ("P2", "P3"), ("P3", "P4"), ("P4", "P5"))]
    [found] = clusters(cases, links, DAY, PARAMS)
    assert (found.size, found.recent, found.previous, found.growth) == (5, 2, 2, 0)  # P5 is 14 days before
    [later] = clusters(cases, links, DAY + timedelta(days=1), PARAMS)
    assert (later.recent, later.previous, later.growth) == (1, 2, -1)  # a day later: P1 out, P2 and P3 the week before
    small = [c for c in cases if c.person_id in ("P3", "P4")]
    ranked = clusters(cases[:2] + small, [links[0], links[2]], DAY, PARAMS)
    assert [(c.id, c.growth) for c in ranked] == [("P3", 2), ("P1", -2)]  # same size: the growing one first
    assert span(DAY, PARAMS) == (date(2022, 3, 14), DAY)


def test_places_of_exposure_need_two_cases_overlapping_fifteen_minutes():
    contacts = contacts_of(CASES)
    [place] = exposure_places(CASES, visits(SCANS, PARAMS), contacts, PARAMS)
    assert (place.venue_code, place.venue_name, place.cases) == ("V-REST", "好味餐厅", ("A", "B"))
    assert (place.first, place.last) == (moment(8, 12, 10), moment(8, 12, 40))
    assert place.contacts == 1  # X; the cases themselves are not counted
    assert [v.person_id for v in place.visits] == ["A", "B"]
    # D and F were 14 minutes together at the shop: no place. At 15 minutes it is one.
    longer = [s if s.person_id != "F" else Scan("F", "V-SHOP", moment(8, 9, 15), moment(8, 9, 45), "shop")
              for s in SCANS]
    assert [p.venue_code for p in exposure_places(CASES, visits(longer, PARAMS), contacts, PARAMS)] == [
        "V-SHOP", "V-REST"]  # two cases each: the earlier first
    # Outside both windows (A and B reported on the 9th; a visit on the 1st) nothing counts.
    old = [Scan(s.person_id, s.venue_code, s.scanned_at - timedelta(days=7), s.left_at - timedelta(days=7),
                s.venue_kind) for s in SCANS]
    assert exposure_places(CASES, visits(old, PARAMS), contacts, PARAMS) == []


def test_the_graph_draws_each_person_once_in_the_closest_role():
    contacts = contacts_of(CASES)
    chain = clusters(CASES, contacts, DAY, PARAMS)[0]
    nodes, edges = graph(chain, [c for c in contacts if c.case in chain.person_ids])
    assert [(n.person, n.role) for n in nodes] == [("A", "case"), ("B", "case"), ("C", "case"), ("X", "tier1"),
                                                    ("H", "tier2")]
    assert {(e.source, e.target, e.relation, e.tier) for e in edges} == {
        ("A", "B", "meal", 0), ("B", "C", "household", 0), ("A", "X", "meal", 1), ("B", "X", "meal", 1),
        ("X", "H", "household", 2)}
