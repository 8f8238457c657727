"""Imports, the fact store and the services on SQLite and PostgreSQL; the DuckDB queries agree
with the pure rules."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select, text

from cityline.accounts.models import AuditEntry
from cityline.db import transaction
from cityline.epidemic import ledger, queries, service, tracing
from cityline.epidemic.areas import resolve
from cityline.epidemic.facts import FactStore
from cityline.epidemic.importer import import_file
from cityline.epidemic.models import Case, Pass, Resident, RiskArea
from cityline.epidemic.places import arrivals, place_counts, zones
from cityline.epidemic.rules import Person, Scan, Test, coverage, visits
from tests.epidemic import world
from tests.epidemic.test_rules import world_cases, world_people, world_risks, world_trips
from tests.epidemic.world import AT, DAY, SH, at, write_csv


def run(sessions, env, kind, path, **kw):
    return import_file(sessions, env, kind, path, actor="test", **kw)


# -- imports ----------------------------------------------------------------------------------------


def test_importing_everything_twice_adds_nothing(loaded, world_files):
    sessions, env = loaded
    for kind, path in world_files.items():
        again = run(sessions, env, kind, path)
        assert (again.added, again.updated, again.bad) == (0, 0, []), again.as_dict()
        assert again.unchanged == again.read
    with sessions() as session:
        assert session.scalar(select(Resident.id).where(Resident.person_id == "R22"))
    assert len(env.store.manifest("tests")["files"]) == len({e["day"] for e in env.store.manifest("tests")["files"]})


def test_a_known_key_updates_its_record(loaded, tmp_path):
    sessions, env = loaded
    path = write_csv(tmp_path / "r.csv", world.HEADER, [
        ("R05", "赵小五", "", "13900000005", world.JA, world.CJD, world.SUN, "2号楼", "1单元", "202", "", "G-SUN",
         "away")])
    report = run(sessions, env, "residents", path)
    assert (report.added, report.updated) == (0, 1)
    tests = write_csv(tmp_path / "t.csv", ["person_id", "sampled_at", "result", "kind"],
                      [("R05", at(-3), "negative", "pcr")])
    assert run(sessions, env, "tests", tests).updated == 1
    areas = write_csv(tmp_path / "a.csv", ["area", "level", "from", "to"], [("长春市南关区", "high", "2022-03-20", "")])
    assert run(sessions, env, "risk-areas", areas).updated == 1
    cases = write_csv(tmp_path / "c.csv", ["person_id", "reported_at"], [("R11", at(-20))])
    assert run(sessions, env, "cases", cases).updated == 1
    scans = write_csv(tmp_path / "s.csv", ["person_id", "venue_code", "scanned_at", "venue_kind"],
                      [("R17", "V-REST", datetime(2022, 4, 6, 12, 20, tzinfo=SH), "shop")])
    assert run(sessions, env, "scans", scans).updated == 1
    trips = write_csv(tmp_path / "tr.csv", ["person_id", "mode", "trip_no", "arrived_at", "from_area", "seat"],
                      [("R18", "train", "G123", datetime(2022, 4, 8, 13, 0, tzinfo=SH), "湖北省武汉市", "13A")])
    assert run(sessions, env, "trips", trips).updated == 1
    (r17,) = [v for v in queries.visits(env.store, DAY - timedelta(days=4), DAY, env.params, persons=["R17"])
              if v.venue_code == "V-REST"]
    assert r17.venue_kind == "shop"
    (r18,) = queries.trips_of(env.store, ["R18"], DAY - timedelta(days=3), DAY, env.params)
    assert (r18.seat, r18.carriage) == ("13A", None)  # the row replaces the record: its carriage is gone
    with sessions() as session:
        r05 = session.scalar(select(Resident).where(Resident.person_id == "R05"))
        assert (r05.status, r05.phone_masked) == ("away", "139****0005")
        assert session.scalar(select(RiskArea.level).where(RiskArea.area == "长春市南关区")) == "high"
        assert session.scalar(select(Case.reported_at).where(Case.person_id == "R11")) == at(-20)
    found = queries.tests_of(env.store, ["R05"], AT, env.params)
    assert [(t.result, t.sampled_at) for t in found] == [("negative", at(-3))]


def test_bad_rows_are_named_and_the_rest_go_in(sessions, env, tmp_path):
    path = tmp_path / "tests.jsonl"
    path.write_text(
        '{"person_id": "P1", "sampled_at": "2022-04-10T09:00", "result": "阴性"}\n'
        '\n'
        '{"person_id": "P2", "sampled_at": "yesterday", "result": "negative"}\n'
        'not json\n'
        '{"person_id": "", "sampled_at": "2022-04-10", "result": "maybe", "kind": "blood"}\n'
        '{"person_id": "P3", "sampled_at": "2022-04-10 10:00+08:00", "result": "POSITIVE", "kind": "Antigen"}\n',
        encoding="utf-8")
    report = run(sessions, env, "tests", path)
    assert (report.read, report.added) == (5, 2)
    reasons = {e.row: e.message for e in report.bad}
    assert set(reasons) == {3, 4, 5}
    assert "sampled_at 'yesterday'" in reasons[3] and "not valid JSON" in reasons[4]
    assert "person_id is required" in reasons[5] and "result 'maybe'" in reasons[5] and "kind 'blood'" in reasons[5]
    residents = write_csv(tmp_path / "r.csv", world.HEADER, [
        ("X1", "甲", "", "12", "区", "街道", "小区", "", "", "", "", "", ""),
        ("X2", "乙", "", "", "区", "街道", "", "", "", "", "", "", "gone"),
        ("X3", "丙", "", "", "区", "街道", "小区", "", "", "", "", "", "")])
    report = run(sessions, env, "residents", residents)
    assert [(e.row, e.message) for e in report.bad] == [
        (2, "phone is not a phone number (5 to 20 digits)"),
        (3, "compound is required; status 'gone' is not one of present, away, moved_out")]
    assert "12" not in str(report.as_dict()["bad_rows"][0]) or "phone" in report.bad[0].message
    areas = write_csv(tmp_path / "a.csv", ["area", "level", "from", "to"],
                      [("朝阳区", "high", "2022-04-01", ""), ("北京市朝阳区", "high", "2022-04-05", "2022-04-01")])
    report = run(sessions, env, "risk-areas", areas)
    assert [e.row for e in report.bad] == [2, 3] and "to is before from" in report.bad[1].message


def test_gbk_csv_and_personal_data_protected(loaded):
    sessions, env = loaded
    with sessions() as session:
        row = session.scalar(select(Resident).where(Resident.person_id == "R01"))
        assert (row.name_masked, row.phone_masked, row.id_number_masked) == ("张*一", "138****0101", "310101********1234")
        raw = session.execute(text("SELECT * FROM epidemic_residents WHERE person_id = 'R01'")).one()
        assert not {"张小一", "13800000101", "310101199001011234"} & {str(v) for v in raw}
        assert env.vault.reveal(row.name_enc) == "张小一"  # read from GBK correctly
        snapshot = Path(ledger.snapshot(session, env.store)).read_bytes()
    assert b"13800000101" not in snapshot and "张小一".encode() not in snapshot


def test_values_are_the_codes_of_the_format_and_only_the_chinese_words_it_names(sessions, env, tmp_path):
    """§6 names 阴性/阳性/待出 and 高/中/低; every other value is a code. A word outside the
    contract is a named bad row, never a guess ("bus": a coach, or a city bus?)."""
    trips = write_csv(tmp_path / "t.csv", ["person_id", "mode", "arrived_at", "from_area"],
                      [("P1", "FLIGHT", at(-5), "武汉市"), ("P2", "bus", at(-5), "武汉市"), ("P3", "火车", at(-5), "武汉市")])
    report = run(sessions, env, "trips", trips)
    assert report.added == 1 and [(e.row, e.message) for e in report.bad] == [
        (3, "mode 'bus' is not one of train, flight, coach, car, ship"),
        (4, "mode '火车' is not one of train, flight, coach, car, ship")]
    tests = write_csv(tmp_path / "r.csv", ["person_id", "sampled_at", "result"],
                      [("P1", at(-5), "阴性"), ("P2", at(-4), "阳"), ("P3", at(-3), "待出")])
    report = run(sessions, env, "tests", tests)
    assert report.added == 2 and [e.row for e in report.bad] == [3]
    assert "result '阳' is not one of negative, positive, pending (阴性 / 阳性 / 待出)" in report.bad[0].message


def test_xlsx_with_excel_values(sessions, env, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["person_id", "mode", "trip_no", "departed_at", "arrived_at", "from_area", "carriage", "seat"])
    sheet.append(["P1", "Train", "G1", datetime(2022, 4, 8, 8, 0), datetime(2022, 4, 8, 13, 0), "武汉市", 5, "12F"])
    sheet.append([])
    sheet.append([1001, "flight", "MU1", None, datetime(2022, 4, 9, 9, 30), "长春市南关区", None, None])
    sheet.append(["P3", "boat", "X", None, "not a time", "某地", None, None])
    book.save(tmp_path / "trips.xlsx")
    report = run(sessions, env, "trips", tmp_path / "trips.xlsx")
    assert report.added == 2 and [e.row for e in report.bad] == [5]
    assert "mode 'boat'" in report.bad[0].message and "arrived_at 'not a time'" in report.bad[0].message
    trips = {t.person_id: t for t in queries.trips_of(env.store, ["P1", "1001"], date(2022, 4, 1), date(2022, 4, 30),
                                                      env.params)}
    assert trips["P1"].carriage == "5" and trips["P1"].arrived_at == datetime(2022, 4, 8, 13, 0, tzinfo=SH)
    assert trips["1001"].mode == "flight"


class Interrupted(Exception):
    pass


def stop_after(calls: int):
    seen = []

    def progress(_n: int) -> None:
        seen.append(_n)
        if len(seen) == calls:
            raise Interrupted()

    return progress


def test_an_interrupted_import_resumes(sessions, env, world_files, monkeypatch):
    with pytest.raises(Interrupted):
        run(sessions, env, "residents", world_files["residents"], batch_size=5, progress=stop_after(2))
    with sessions() as session:
        assert len(session.scalars(select(Resident.person_id)).all()) == 10  # two whole batches
    report = run(sessions, env, "residents", world_files["residents"], batch_size=5)
    assert (report.added, report.unchanged) == (len(world.RESIDENTS) - 10, 10)

    with pytest.raises(Interrupted):
        run(sessions, env, "tests", world_files["tests"], chunk_rows=4, progress=stop_after(2))
    assert sum(e["rows"] for e in env.store.entries("tests")) == 8
    # a write that dies after moving its files but before its manifest: the files do not count
    real_commit = FactStore._commit

    def die(self, kind, manifest):
        raise Interrupted()

    monkeypatch.setattr(FactStore, "_commit", die)
    with pytest.raises(Interrupted):
        run(sessions, env, "tests", world_files["tests"], chunk_rows=100)
    monkeypatch.setattr(FactStore, "_commit", real_commit)
    report = run(sessions, env, "tests", world_files["tests"])
    assert (report.added, report.unchanged) == (len(world.TESTS) - 8, 8)
    stored = queries.tests_of(env.store, {t[0] for t in world.TESTS}, AT + timedelta(days=1), env.params)
    assert len(stored) == len(world.TESTS)
    assert all(p.parent.name.startswith("day=") for p in (env.store.root / "tests").glob("*/*.parquet"))
    listed = {e["file"] for e in env.store.manifest("tests")["files"]}
    assert {str(p.relative_to(env.store.root / "tests")) for p in (env.store.root / "tests").glob("day=*/*")} == listed


def test_compaction_keeps_the_latest_version(loaded, tmp_path):
    sessions, env = loaded
    again = write_csv(tmp_path / "t.csv", ["person_id", "sampled_at", "result"], [("R05", at(-3), "negative")])
    run(sessions, env, "tests", again)
    before = sorted(queries.tests_of(env.store, ["R05", "R04"], AT, env.params), key=lambda t: t.sampled_at)
    con = queries.connect(env.params)
    assert env.store.compact("tests", con) >= 1
    entries = env.store.entries("tests")
    assert len(entries) == len({e["day"] for e in entries}) and not any(e["updates"] for e in entries)
    assert sorted(queries.tests_of(env.store, ["R05", "R04"], AT, env.params), key=lambda t: t.sampled_at) == before
    assert run(sessions, env, "tests", again).unchanged == 1


# -- the queries agree with the rules ----------------------------------------------------------------


def test_coverage_query_agrees_with_the_rule(loaded):
    sessions, env = loaded
    tests = queries.tests_of(env.store, [t[0] for t in world.TESTS], AT + timedelta(days=2), env.params)
    with sessions() as session:
        people = ledger.people(session)
        for since, until, sun1 in ((date(2022, 4, 9), date(2022, 4, 10), (3, 0)),
                                   (date(2022, 4, 8), date(2022, 4, 8), (3, 3))):
            found = service.coverage(session, env, since, until, untested=True)
            expected = coverage(people, tests, since, until, env.params)
            assert found.rows == expected.rows
            assert [p.person_id for p in found.untested] == [p.person_id for p in expected.untested]
            rows = {(r.compound, r.building): (r.present, r.tested) for r in found.rows}
            assert rows[("阳光小区", "1号楼")] == sun1
            assert rows[("阳光小区", "2号楼")][0] == 2  # R06 is away


def test_zones_and_arrivals_queries_agree_with_the_rules(loaded):
    sessions, env = loaded
    people = world_people()
    expected_zones = zones(world_cases(), {p.person_id: p for p in people}, place_counts(people), DAY, env.params)
    expected_arrivals = arrivals(world_trips(), world_risks(), DAY, env.params, resolve)
    with sessions() as session:
        assert service.compute_zones(session, env, DAY) == expected_zones
        assert service.risk_arrivals(session, env, DAY) == expected_arrivals
        service.save_zones(session, DAY, expected_zones, AT)


def random_world(seed: int = 7):
    rng = random.Random(seed)
    people = [Person(f"P{i:03d}", "区", rng.choice(["甲街道", "乙街道"]), rng.choice(["东小区", "西小区"]),
                     rng.choice(["1号楼", "2号楼", None]), None, str(rng.randint(1, 30)), None, None,
                     rng.choice(["present"] * 5 + ["away", "moved_out"])) for i in range(150)]
    start = datetime(2022, 4, 1, tzinfo=SH)
    tests = [Test(f"P{rng.randrange(180):03d}", start + timedelta(minutes=rng.randrange(6 * 24 * 60)),
                  rng.choice(["negative", "positive", "pending"]), rng.choice(["pcr", "antigen"])) for _ in range(600)]
    scans = []
    for _ in range(400):
        begin = start + timedelta(minutes=rng.randrange(4 * 24 * 60))
        left = begin + timedelta(minutes=rng.randrange(5, 200)) if rng.random() < 0.3 else None
        scans.append(Scan(f"P{rng.randrange(60):03d}", f"V{rng.randrange(8)}", begin, left,
                          rng.choice(["restaurant", "shop", "workplace"])))
    return people, tests, scans


def test_random_world_coverage_and_visits_agree(sessions, env, tmp_path):
    people, tests, scans = random_world()
    header = ["person_id", "district", "street", "compound", "building", "room", "status"]
    write_csv(tmp_path / "r.csv", header, [(p.person_id, p.district, p.street, p.compound, p.building or "", p.room,
                                            p.status) for p in people])
    write_csv(tmp_path / "t.csv", ["person_id", "sampled_at", "result", "kind"],
              [(t.person_id, t.sampled_at, t.result, t.kind) for t in tests])
    write_csv(tmp_path / "s.csv", ["person_id", "venue_code", "scanned_at", "left_at", "venue_kind"],
              [(s.person_id, s.venue_code, s.scanned_at, s.left_at or "", s.venue_kind) for s in scans])
    for kind, name in (("residents", "r.csv"), ("tests", "t.csv"), ("scans", "s.csv")):
        report = run(sessions, env, kind, tmp_path / name, chunk_rows=150)
        assert not report.bad
    unique = {(t.person_id, t.sampled_at, t.kind): t for t in tests}.values()  # the last of a key wins
    with sessions() as session:
        for since, until in ((date(2022, 4, 2), date(2022, 4, 3)), (date(2022, 4, 1), date(2022, 4, 6))):
            found = service.coverage(session, env, since, until, untested=True)
            expected = coverage(people, unique, since, until, env.params)
            assert found.rows == expected.rows and found.untested == expected.untested
        ledger_people = ledger.people(session)
    assert sorted(ledger_people, key=lambda p: p.person_id) == sorted(people, key=lambda p: p.person_id)
    unique_scans = {(s.person_id, s.venue_code, s.scanned_at): s for s in scans}.values()
    key = lambda v: (v.person_id, v.venue_code, v.start)  # noqa: E731
    expected_visits = sorted(visits(unique_scans, env.params), key=key)
    found_visits = sorted(queries.visits(env.store, date(2022, 3, 31), date(2022, 4, 6), env.params), key=key)
    assert found_visits == expected_visits


# -- contacts and passes ---------------------------------------------------------------------------------


def test_contacts_of_the_world(loaded):
    sessions, env = loaded
    with sessions() as session:
        cases = sorted(service.case_records(session), key=lambda c: c.person_id)
        found = tracing.contacts(session, env, cases)
    assert [(c.case, c.person, c.tier, c.relation, c.via, c.overlap_minutes) for c in found] == [
        ("R10", "R09", 1, "household", None, None),
        ("R10", "R16", 1, "meal", None, 42),
        ("R10", "R22", 2, "household", "R16", None),
        ("R11", "R17", 1, "trip", None, None),
        ("R11", "R19", 1, "trip", None, None),
        ("R21", "R20", 1, "household", None, None),
    ]


EXPECTED_PASSES = {"R01": (True, None), "R02": (False, "test_too_old"), "R03": (False, "test_too_old"),
                   "R04": (True, None), "R05": (False, "no_result"), "R06": (True, None), "R08": (True, None),
                   "R09": (False, "contact"), "R16": (False, "contact"), "R20": (True, None), "V01": (True, None),
                   "R10": (False, "case"), "R11": (False, "case"), "NOBODY": (False, "no_result")}


def test_passes_of_the_world_issue_verify_and_revoke(loaded, world_files, tmp_path):
    sessions, env = loaded
    with transaction(sessions) as session:
        results = {r.person: r for r in service.issue_passes(session, env, list(EXPECTED_PASSES), AT, actor="test")}
    assert {p: (r.issued, r.reason) for p, r in results.items()} == EXPECTED_PASSES
    assert results["R01"].valid_until == at(-47, -59) + timedelta(hours=48)
    assert results["R04"].valid_until == at(-10) + timedelta(hours=48)

    def verify(person, moment, code=None):
        with transaction(sessions) as session:
            return service.verify_pass(session, env, code or results[person].code, moment, actor="gate")

    assert verify("R01", at(0, 0.5))["status"] == "valid"
    assert verify("R01", at(0, 1))["status"] == "expired"  # valid_until = AT + 1 minute
    assert verify("R08", at(1))["status"] == "valid"
    assert verify("R08", at(6))["status"] == "revoked"  # positive sampled at AT + 5 h
    code = results["R06"].code
    assert verify("R06", at(1), code[:8] + ("A" if code[8] != "A" else "B") + code[9:])["status"] == "invalid"
    with sessions() as session:
        actions = [a for (a,) in session.execute(select(AuditEntry.action))]
        assert actions.count("pass_issued") == 6 and actions.count("pass_refused") == 8
        assert actions.count("pass_verified") == 5 and actions.count("pass_revoked") == 1
        assert session.scalar(select(Pass.revoked_reason).where(Pass.person_id == "R08")) == "positive"


def test_a_positive_or_a_case_imported_later_revokes_passes_in_force(loaded, tmp_path):
    sessions, env = loaded
    with transaction(sessions) as session:
        issued = service.issue_passes(session, env, ["R04", "R06", "V01"], AT, actor="test")
    assert all(r.issued for r in issued)
    positive = write_csv(tmp_path / "t.csv", ["person_id", "sampled_at", "result"], [("R04", at(3), "阳性")])
    assert run(sessions, env, "tests", positive).revoked_passes == 1
    case = write_csv(tmp_path / "c.csv", ["person_id", "reported_at"], [("V01", at(4))])
    assert run(sessions, env, "cases", case).revoked_passes == 1
    old = write_csv(tmp_path / "o.csv", ["person_id", "sampled_at", "result"], [("R06", at(24 * 5), "阳性")])
    assert run(sessions, env, "tests", old).revoked_passes == 0  # after R06's pass ran out
    with sessions() as session:
        revoked = {p: r for p, r in session.execute(
            select(Pass.person_id, Pass.revoked_reason).where(Pass.revoked_at.is_not(None)))}
    assert revoked == {"R04": "positive", "V01": "case"}
    with transaction(sessions) as session:
        assert service.verify_pass(session, env, issued[0].code, at(3, 30), actor="gate")["status"] == "revoked"


def test_building_batch(loaded):
    sessions, env = loaded
    with sessions() as session:
        assert service.building_persons(session, world.JA, world.CJD, world.SUN, "2号楼") == ["R04", "R05", "R06"]
        assert service.building_persons(session, world.JA, world.JNL, world.STAR, None) == ["R14"]


def test_person_scope_of_a_grid_worker(loaded):
    from cityline.accounts.rules import Principal
    from cityline.geo.service import import_grids

    sessions, _env = loaded
    with transaction(sessions) as session:
        import_grids(session, [(2, {"code": "G-SUN", "name": "阳光网格", "unit_code": "U1", "compounds": "阳光小区"})])
        from cityline.accounts.units import upsert_unit

        upsert_unit(session, {"code": "ROOT", "name": "市", "kind": "centre"})
        unit = upsert_unit(session, {"code": "U1", "name": "街道", "kind": "street_office", "parent_code": "ROOT",
                                     "district": world.JA, "street": world.CJD})
        session.flush()
        worker = Principal("w", frozenset({"grid_worker"}), unit.id, frozenset({unit.id}),
                           frozenset({(world.JA, world.CJD)}))
        scope = ledger.person_scope(session, worker)
        commander = ledger.person_scope(session, Principal("c", frozenset({"commander"}), unit.id,
                                                           frozenset({unit.id}), frozenset({(world.JA, world.CJD)})))
    assert scope.grids == {"G-SUN"} and scope.sees(world.JA, world.CJD, "G-SUN")
    assert not scope.sees(world.JA, world.CJD, "G-MOON")  # same street, another grid
    assert commander.sees(world.JA, world.CJD, "G-MOON") and not commander.sees(world.JA, world.JNL, None)


def test_fact_store_is_plain_hive_parquet(loaded):
    import duckdb

    _sessions, env = loaded
    folder = Path(env.store.root) / "tests"
    con = duckdb.connect()
    rows = con.execute(f"SELECT count(*), count(DISTINCT day) FROM read_parquet('{folder}/day=*/*.parquet', "
                       f"hive_partitioning = true)").fetchall()
    assert rows == [(len(world.TESTS), len({t[1].date() for t in world.TESTS}))]


def test_row_numbers_survive_blank_lines_quoted_line_breaks_and_short_rows(sessions, env, tmp_path):
    # a short row stops pyarrow's fast path after two chunks: the rest is read row by row
    short = tmp_path / "short.csv"
    short.write_text("person_id,sampled_at,result,site\n"
                     "P1,2022-04-10 09:00,阴性,\"一号\n采样点\"\n"
                     "P2,2022-04-10 09:05,阴性,二号\n"
                     "P3,2022-04-10 09:10\n"
                     "P4,2022-04-10 09:15,阴性,四号\n"
                     "P5,later,阴性,五号\n", encoding="utf-8")
    report = run(sessions, env, "tests", short, chunk_rows=1)
    assert report.added == 3 and [(e.row, e.message) for e in report.bad] == [
        (4, "result is required"), (6, "sampled_at 'later' is not an ISO 8601 date-time")]
    # a blank line (pyarrow would not count it) sends the whole file row by row
    blank = tmp_path / "blank.csv"
    blank.write_text("person_id,sampled_at,result\nQ1,2022-04-10 09:00,阴性\n\n,,\nQ2,x,阴性\n", encoding="utf-8")
    report = run(sessions, env, "tests", blank)
    assert (report.read, report.added, [e.row for e in report.bad]) == (2, 1, [5])
    sites = {t.person_id for t in queries.tests_of(env.store, ["P1", "P2", "P4"], AT, env.params)}
    assert sites == {"P1", "P2", "P4"}
