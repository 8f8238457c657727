"""Replacing the dispatch catalogue keeps versions: who, when, why, the rules and what changed; restorable."""

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from cityline.accounts.models import AuditEntry, Unit
from cityline.accounts.rules import ROLES
from cityline.api import create_app
from cityline.db import transaction
from cityline.errors import Invalid, NotFound
from cityline.routing import catalogue
from cityline.routing.models import DispatchRule
from cityline.routing.rules import Rule, diff_catalogues, same_catalogue
from tests.conftest import make_token
from tests.factories import CATALOGUE, add_units

MEDICAL = Rule("EPI.MEDICAL", level="street")
CODE = Rule("EPI.CODE", unit="SH-WJW")
ENVIRONMENT = Rule("GEN.ENVIRONMENT", level="street")
JA_MEDICAL = Rule("EPI.MEDICAL", unit="SH-JA", district="静安区")

# CATALOGUE (tests/factories.py) with EPI.CODE sent to the district centre, the environment rule
# dropped and a district rule added.
SECOND = [(2, {"category": "EPI.MEDICAL", "level": "street"}),
          (3, {"category": "EPI.CODE", "unit": "SH-JA", "note": "区中心先行"}),
          (4, {"category": "EPI.MEDICAL", "district": "静安区", "unit": "SH-JA-JNL", "priority": "1"})]


# --- the diff, from the rules alone ---------------------------------------------------------------

def test_diff_names_rules_added_removed_and_changed():
    after = [MEDICAL, Rule("EPI.CODE", unit="SH-JA", note="区中心先行"), JA_MEDICAL]
    change = diff_catalogues([MEDICAL, CODE, ENVIRONMENT], after)
    assert change.added == [JA_MEDICAL] and change.removed == [ENVIRONMENT]
    (changed,) = change.changed
    assert (changed.before, changed.after.unit, changed.fields) == (CODE, "SH-JA", ["unit", "note"])
    assert change.counts() == {"added": 1, "removed": 1, "changed": 1}
    assert diff_catalogues(after, [MEDICAL, CODE, ENVIRONMENT]).counts() == {"added": 1, "removed": 1, "changed": 1}


def test_order_does_not_matter_but_a_note_or_a_duplicate_does():
    rules = [MEDICAL, CODE, ENVIRONMENT]
    assert diff_catalogues(rules, rules[::-1]).empty and same_catalogue(rules, rules[::-1])
    noted = diff_catalogues(rules, [MEDICAL, Rule("EPI.CODE", unit="SH-WJW", note="why"), ENVIRONMENT])
    assert [c.fields for c in noted.changed] == [["note"]]
    twice = diff_catalogues(rules, [*rules, CODE])
    assert twice.added == [CODE] and not same_catalogue(rules, [*rules, CODE])


def test_several_rules_for_one_category_and_place_are_added_and_removed_not_paired():
    first, second = Rule("EPI.CODE", unit="SH-WJW", priority=1), Rule("EPI.CODE", unit="SH-JA")
    change = diff_catalogues([CODE], [first, second])
    assert change.changed == [] and change.removed == [CODE] and set(change.added) == {first, second}


def test_a_diff_survives_storage():
    change = diff_catalogues([MEDICAL, CODE], [MEDICAL, Rule("EPI.CODE", unit="SH-JA"), JA_MEDICAL])
    again = type(change).from_dict(change.as_dict())
    assert again == change and Rule.from_dict(JA_MEDICAL.as_dict()) == JA_MEDICAL


# --- versions in the database (SQLite and PostgreSQL) ---------------------------------------------

def audits(session):
    return [(a.actor, a.action, a.target, a.reason, a.detail)
            for a in session.scalars(select(AuditEntry).where(AuditEntry.action.like("catalogue_%"))
                                     .order_by(AuditEntry.id))]


def test_imports_make_versions_with_their_changes_and_audit_entries(sessions):
    add_units(sessions)
    with transaction(sessions) as session:
        first = catalogue.import_catalogue(session, CATALOGUE, actor="cli:ana", note="first catalogue")
        assert (first.version.version, first.current, first.version.added, first.version.rule_count) == (1, 1, 3, 3)
    with transaction(sessions) as session:
        same = catalogue.import_catalogue(session, list(reversed(CATALOGUE)), actor="cli:ana")
        assert same.unchanged and same.current == 1 and same.version is None
    with transaction(sessions) as session:
        second = catalogue.import_catalogue(session, SECOND, actor="cli:bo", note="district centre first")
        v2 = second.version
        assert (v2.version, v2.added, v2.removed, v2.changed, v2.rule_count) == (2, 1, 1, 1, 3)
    with transaction(sessions) as session:
        versions = catalogue.list_versions(session)
        assert [(v.version, v.actor, v.action, v.note) for v in versions] == [
            (2, "cli:bo", "import", "district centre first"), (1, "cli:ana", "import", "first catalogue")]
        stored = catalogue.version_changes(versions[0])
        assert [c.fields for c in stored.changed] == [["unit", "note"]]
        assert stored.removed == [Rule("GEN.ENVIRONMENT", level="street")]
        assert catalogue.version_rules(versions[0]) == catalogue.current_rules(session)
        between = catalogue.diff_versions(session, 1, 2)
        assert between == stored
        assert audits(session) == [
            ("cli:ana", "catalogue_replaced", "dispatch catalogue v1", "first catalogue",
             {"version": 1, "rules": 3, "added": 3, "removed": 0, "changed": 0}),
            ("cli:bo", "catalogue_replaced", "dispatch catalogue v2", "district centre first",
             {"version": 2, "rules": 3, "added": 1, "removed": 1, "changed": 1})]
        # Routing reads the catalogue in force: EPI.CODE now goes to the district centre.
        assert catalogue.suggest_units(session, "EPI.CODE", None, None)[0].unit == "SH-JA"


def test_restore_is_a_new_audited_version_and_routing_follows_it(sessions):
    add_units(sessions)
    with transaction(sessions) as session:
        catalogue.import_catalogue(session, CATALOGUE, actor="cli:ana")
        catalogue.import_catalogue(session, SECOND, actor="cli:bo")
    with transaction(sessions) as session:
        done = catalogue.restore(session, 1, actor="cli:cy", note="v2 sent codes to the wrong desk")
        v3 = done.version
        assert (v3.version, v3.action, v3.restored_from, v3.added, v3.removed, v3.changed) == (3, "restore", 1, 1, 1, 1)
    with transaction(sessions) as session:
        assert sorted(catalogue.current_rules(session), key=str) == sorted(
            catalogue.version_rules(catalogue.get_version(session, 1)), key=str)
        assert catalogue.suggest_units(session, "EPI.CODE", None, None)[0].unit == "SH-WJW"
        assert [v.version for v in catalogue.list_versions(session)] == [3, 2, 1]  # nothing rewritten
        assert audits(session)[-1] == ("cli:cy", "catalogue_restored", "dispatch catalogue v3",
                                       "v2 sent codes to the wrong desk",
                                       {"version": 3, "rules": 3, "added": 1, "removed": 1, "changed": 1,
                                        "restored_from": 1})
        again = catalogue.restore(session, 3, actor="cli:cy")
        assert again.unchanged and again.current == 3
        with pytest.raises(NotFound):
            catalogue.restore(session, 9, actor="cli:cy")


def test_bad_rows_change_nothing_and_make_no_version(sessions):
    add_units(sessions)
    with transaction(sessions) as session:
        catalogue.import_catalogue(session, CATALOGUE, actor="cli:ana")
        done = catalogue.import_catalogue(session, [*SECOND, (5, {"category": "EPI.TEST", "unit": "NOPE"})],
                                          actor="cli:ana")
        assert [b.row for b in done.bad] == [5] and done.version is None and done.current == 1
    with transaction(sessions) as session:
        assert catalogue.latest_version(session) == 1 and len(catalogue.current_rules(session)) == 3
        assert len(audits(session)) == 1


def test_a_version_whose_unit_is_gone_is_not_restored(sessions):
    add_units(sessions)
    with transaction(sessions) as session:
        catalogue.import_catalogue(session, CATALOGUE, actor="cli:ana")
        catalogue.import_catalogue(session, SECOND, actor="cli:ana")
        session.execute(delete(Unit).where(Unit.code == "SH-WJW"))
    with transaction(sessions) as session, pytest.raises(Invalid) as refused:
        catalogue.restore(session, 1, actor="cli:ana")
    assert refused.value.errors[0].field == "rules.1" and "SH-WJW" in refused.value.errors[0].message


def test_a_catalogue_from_before_versions_is_kept_as_version_one(sessions):
    add_units(sessions)
    with transaction(sessions) as session:
        session.add(DispatchRule(category="EPI.CODE", unit_code="SH-WJW", priority=0))
    with transaction(sessions) as session:
        done = catalogue.import_catalogue(session, CATALOGUE, actor="cli:ana")
        assert done.version.version == 2 and (done.version.added, done.version.changed) == (2, 0)
    with transaction(sessions) as session:
        found = catalogue.get_version(session, 1)
        assert (found.action, found.actor, found.rule_count) == ("found", "system", 1)
        catalogue.restore(session, 1, actor="cli:ana")
        assert catalogue.current_rules(session) == [CODE]


# --- HTTP -----------------------------------------------------------------------------------------

def body(rows, note=None):
    return {"rules": [values for _n, values in rows], "note": note}


@pytest.fixture
def http(sessions, vault):
    add_units(sessions)

    def client(role: str) -> TestClient:
        token = make_token(sessions, [role], name=role)
        return TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"})

    return client


def test_admins_replace_list_show_and_restore_over_http(http, sessions):
    admin = http("admin")
    created = admin.post("/api/dispatch/catalogue", json=body(CATALOGUE, "first"))
    assert created.status_code == 201, created.text
    assert created.json()["version"]["version"] == 1 and created.json()["rule_count"] == 3
    same = admin.post("/api/dispatch/catalogue", json=body(CATALOGUE))
    assert same.status_code == 200 and same.json() == {"created": False, "current": 1, "rule_count": 3,
                                                       "version": None}
    assert admin.post("/api/dispatch/catalogue", json=body(SECOND, "second")).status_code == 201

    listed = admin.get("/api/dispatch/catalogue/versions").json()
    assert [(v["version"], v["actor"], v["note"], v["added"], v["removed"], v["changed"]) for v in listed] == [
        (2, "token:admin", "second", 1, 1, 1), (1, "token:admin", "first", 3, 0, 0)]
    shown = admin.get("/api/dispatch/catalogue/versions/2").json()
    assert len(shown["rules"]) == 3 and shown["changes"]["removed"][0]["category"] == "GEN.ENVIRONMENT"
    assert shown["changes"]["changed"][0]["fields"] == ["unit", "note"]
    assert admin.get("/api/dispatch/catalogue/versions/7").status_code == 404

    restored = admin.post("/api/dispatch/catalogue/versions/1/restore", json={"note": "back"})
    assert restored.status_code == 201 and restored.json()["version"]["restored_from"] == 1
    assert admin.post("/api/dispatch/catalogue/versions/3/restore").status_code == 200  # in force already
    units = {r["category"]: r["unit"] for r in admin.get("/api/dispatch/catalogue").json()}
    assert units["EPI.CODE"] == "SH-WJW"
    with sessions() as session:
        assert [a[1] for a in audits(session)] == ["catalogue_replaced", "catalogue_replaced",
                                                   "catalogue_restored"]


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_only_admins_change_the_catalogue(http, role):
    admin = http("admin")
    admin.post("/api/dispatch/catalogue", json=body(CATALOGUE))
    other = http(role)
    assert other.get("/api/dispatch/catalogue/versions").status_code == 200  # every role reads units
    assert other.get("/api/dispatch/catalogue/versions/1").status_code == 200
    assert other.post("/api/dispatch/catalogue", json=body(SECOND)).status_code == 403
    assert other.post("/api/dispatch/catalogue/versions/1/restore").status_code == 403
    assert len(admin.get("/api/dispatch/catalogue/versions").json()) == 1


def test_bad_rules_are_422_with_each_rules_problem_and_change_nothing(http):
    admin = http("admin")
    admin.post("/api/dispatch/catalogue", json=body(CATALOGUE))
    bad = admin.post("/api/dispatch/catalogue", json={"rules": [
        {"category": "EPI.TEST", "unit": "NOPE"}, {"category": "EPI.CODE", "unit": "SH-WJW"},
        {"category": "", "level": "street", "street": "曹家渡街道"}]})
    assert bad.status_code == 422
    problems = {e["field"]: e["message"] for e in bad.json()["errors"]}
    assert set(problems) == {"rules.0", "rules.2"}
    assert "unknown unit 'NOPE'" in problems["rules.0"]
    assert "category is required" in problems["rules.2"] and "district" in problems["rules.2"]
    misspelt = admin.post("/api/dispatch/catalogue", json={"rules": [{"category": "EPI.CODE", "unit_code": "SH"}]})
    assert misspelt.status_code == 422
    assert len(admin.get("/api/dispatch/catalogue/versions").json()) == 1
    assert len(admin.get("/api/dispatch/catalogue").json()) == 3


# --- the command, as a real process -----------------------------------------------------------------

def test_history_diff_and_restore_from_the_command_line(tmp_path):
    env = {**os.environ, "CITYLINE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    env.pop("CITYLINE_DATABASE_URL", None)

    def cityline(*args: str, ok: bool = True) -> str:
        done = subprocess.run([sys.executable, "-m", "cityline", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert (done.returncode == 0) == ok, done.stdout + done.stderr
        return done.stdout

    (tmp_path / "units.csv").write_text(
        "code,name,parent_code,kind,district,street\nSH,市热线,,centre,,\n"
        "SH-WJW,市卫健委,SH,department,,\nSH-JA,静安区城运中心,SH,centre,静安区,\n", encoding="utf-8")
    header = "category,district,street,unit,level,priority,note\n"
    (tmp_path / "one.csv").write_text(header + "EPI.CODE,,,SH-WJW,,0,\nEPI.MEDICAL,,,,street,0,\n", encoding="utf-8")
    (tmp_path / "two.csv").write_text(header + "EPI.CODE,,,SH-JA,,0,\nEPI.TEST,,,,street,0,\n", encoding="utf-8")
    (tmp_path / "bad.csv").write_text(header + "EPI.CODE,,,NOPE,,0,\n", encoding="utf-8")
    cityline("units", "import", "units.csv")
    assert "version 1 (2 added" in cityline("dispatch", "import", "one.csv", "--note", "first")
    assert "no new version" in cityline("dispatch", "import", "one.csv")
    assert "version 2 (1 added, 1 removed, 1 changed)" in cityline("dispatch", "import", "two.csv")
    assert "unknown unit 'NOPE'" in cityline("dispatch", "import", "bad.csv", ok=False)
    history = cityline("dispatch", "history")
    assert "v2" in history and "first" in history and "cli:" in history
    diff = cityline("dispatch", "diff", "1", "2")
    assert "+ EPI.TEST citywide → street level" in diff and "~ EPI.CODE citywide: unit SH-WJW → SH-JA" in diff
    assert "- EPI.MEDICAL" in cityline("dispatch", "show", "2")
    assert "restored v1 as version 3" in cityline("dispatch", "restore", "previous", "--note", "oops")
    assert "no dispatch catalogue version 8" in cityline("dispatch", "restore", "8", ok=False)
    assert "restore of v1" in cityline("dispatch", "history")
    assert "SH-WJW" in cityline("dispatch", "list")
