"""Checkpoint registrations on SQLite and PostgreSQL, with a controlled clock (``now`` passed in):
a truck from a risk area gets its closed-loop task, and a warning order once it has not left
after 48 hours (once, however often the check runs); a departure closes the loop; a passenger
without a recent negative test is flagged; a bad bulk file names its bad rows and keeps the good
ones; HTTP answers masked and only within the caller's reach."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cityline.api import create_app
from cityline.checkpoints import service, worker
from cityline.checkpoints.models import Registration, Traveller
from cityline.checkpoints.schemas import CheckpointBody, RegistrationBody
from cityline.db import read_transaction, transaction, utcnow
from cityline.epidemic import service as epidemic
from cityline.orders.models import Order
from cityline.orders.service import events_of, get_order
from tests.conftest import make_token
from tests.factories import add_units

SH = ZoneInfo("Asia/Shanghai")
AT = datetime(2022, 4, 20, 10, 30, tzinfo=SH)  # the truck reaches the checkpoint
RISK = "内蒙古自治区呼和浩特市赛罕区"
DRIVER = {"role": "driver", "name": "王建国", "phone": "13900001111", "id_number": "640104198001011234",
          "health_code": "green", "tested_at": (AT - timedelta(hours=20)).isoformat()}


@pytest.fixture
def world(sessions, vault):
    add_units(sessions)
    with transaction(sessions) as session:
        service.save_checkpoint(session, CheckpointBody(code="CK-G2", name="沪宁高速江桥卡口", unit="SH-JA-CJD",
                                                        district="静安区", street="曹家渡街道"))
        service.save_checkpoint(session, CheckpointBody(code="CK-JNL", name="江宁路卡口", unit="SH-JA-JNL",
                                                        district="静安区", street="江宁路街道"))
        epidemic.upsert_risk_areas(session, [{"_row": 2, "area": RISK, "level": "high", "from": AT.date(),
                                              "to": None}], AT)
    env = service.Env(service.rules.load_rules(), epidemic.Params(), vault)
    return sessions, env


def register(sessions, env, at=AT, **values):
    body = {"checkpoint": "CK-G2", "plate": "蒙A12345", "registered_at": at.isoformat(), "origin": "呼和浩特市赛罕区",
            "destination": "静安区曹家渡街道", "cargo": "蔬菜", "people": [DRIVER]} | values
    with transaction(sessions) as session:
        done = service.register(session, env, RegistrationBody.model_validate(body), actor="officer", now=at)
        return done.registration.id, done.created, done.registration.loop_order, [p.flags for p in done.people]


def overdue(sessions, env, now):
    return worker.run_once(sessions, env, now)


def orders(sessions) -> int:
    with read_transaction(sessions) as session:
        return session.scalar(select(func.count(Order.id)))


def test_a_truck_from_a_risk_area_not_gone_after_48_hours_gets_one_warning_order(world):
    sessions, env = world
    reg, created, loop, _flags = register(sessions, env)
    assert created and loop is not None
    with read_transaction(sessions) as session:
        task = get_order(session, loop)
        assert (task.channel, task.category, task.status) == ("warning", "EPI.ISOLATION", "dispatched")
        assert "蒙A***45" in task.text and "2022-04-22 10:30" in task.text and "12345" not in task.text
        row = session.get(Registration, reg)
        assert (row.risk_area, row.risk_level, row.outcome) == (RISK, "high", "passed")
    assert overdue(sessions, env, AT + timedelta(hours=47, minutes=59)) == []
    assert orders(sessions) == 1
    first = overdue(sessions, env, AT + timedelta(hours=48))
    assert [(w.registration, w.created) for w in first] == [(reg, True)]
    with read_transaction(sessions) as session:
        warning = get_order(session, first[0].number)
        assert (warning.urgency, warning.status) == ("urgent", "dispatched")
        assert "卡口闭环超时预警" in warning.text and loop in warning.text
    assert overdue(sessions, env, AT + timedelta(hours=49)) == []  # running again adds nothing
    assert orders(sessions) == 2
    # the truck leaving at another checkpoint (late) closes the loop; both orders record it
    register(sessions, env, at=AT + timedelta(hours=50), checkpoint="CK-JNL", direction="left", plate="蒙A 12345",
             people=[], origin=None)
    with read_transaction(sessions) as session:
        assert session.get(Registration, reg).left_at == AT + timedelta(hours=50)
        for number in (loop, first[0].number):
            left = [e for e in events_of(session, get_order(session, number)) if e.action == service.LEFT_EVENT]
            assert len(left) == 1 and left[0].data["late"] is True


def test_a_truck_that_left_in_time_gets_no_warning_and_a_red_code_is_turned_back(world):
    sessions, env = world
    reg, _created, loop, _flags = register(sessions, env)
    register(sessions, env, at=AT + timedelta(hours=30), direction="left", people=[], origin=None)
    assert overdue(sessions, env, AT + timedelta(hours=72)) == []
    assert orders(sessions) == 1
    red = dict(DRIVER, health_code="红码")
    turned, _created, no_loop, flags = register(sessions, env, plate="蒙B54321", people=[red])
    assert no_loop is None and flags == [["code_red"]]
    with read_transaction(sessions) as session:
        assert session.get(Registration, turned).outcome == "turned_back"
        assert session.get(Registration, reg).left_at == AT + timedelta(hours=30)


def test_a_passenger_without_a_recent_negative_test_is_flagged(world):
    sessions, env = world
    passengers = [{"name": "李四", "tested_at": (AT - timedelta(hours=48)).isoformat()},
                  {"name": "赵五"}, {"name": "钱六", "tested_at": (AT - timedelta(hours=47, minutes=59)).isoformat()}]
    reg, _created, _loop, flags = register(sessions, env, origin="江苏省徐州市", people=[DRIVER, *passengers])
    assert flags == [[], ["test_too_old"], ["no_test"], []]
    with read_transaction(sessions) as session:
        row = session.get(Registration, reg)
        assert (row.flagged, row.loop_order, row.risk_area) == (2, None, None)  # not from a risk area
        stored = session.scalars(select(Traveller).where(Traveller.registration_id == reg)
                                 .order_by(Traveller.id)).all()
        assert [p.name_masked for p in stored] == ["王*国", "李*", "赵*", "钱*"]
        assert "13900001111" not in (stored[0].phone_enc or "") and stored[0].phone_masked == "139****1111"
    # the same registration sent twice is one
    assert register(sessions, env, origin="江苏省徐州市", people=[DRIVER, *passengers])[:2] == (reg, False)


def test_a_bad_bulk_file_names_its_bad_rows_and_keeps_the_good(world, tmp_path):
    sessions, env = world
    path = tmp_path / "卡口登记.csv"
    header = ["checkpoint", "direction", "plate", "registered_at", "origin", "cargo", "driver_name", "driver_phone",
              "driver_health_code", "driver_tested_at", "passenger1_name", "passenger1_tested_at"]
    tested = (AT - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M")
    rows = [
        ["CK-G2", "驶入", "蒙A11111", "2022-04-20 09:00", "呼和浩特市赛罕区", "煤", "张三", "13900002222", "绿码",
         tested, "孙七", ""],                                                            # row 2: good, a loop
        ["CK-G2", "驶入", "A1", "2022-04-20 09:05", "", "", "张三", "", "绿", tested, "", ""],  # 3: bad plate
        ["CK-NONE", "驶入", "蒙A22222", "2022-04-20 09:10", "", "", "张三", "", "", "", "", ""],  # 4: no checkpoint
        ["CK-G2", "驶入", "蒙A33333", "20.4.2022", "", "", "张三", "", "紫", tested, "", ""],  # 5: time, colour
        ["CK-G2", "驶入", "蒙A44444", "2022-04-20 09:20", "江苏省徐州市", "", "张三", "12", "绿", tested, "", ""],  # 6
        ["CK-G2", "驶离", "蒙A55555", "2022-04-20 09:30", "", "", "", "", "", "", "", ""],  # 7: good, leaving
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    with transaction(sessions) as session:
        report = service.import_file(session, env, path, actor="officer", now=AT).as_dict()
    assert (report["rows"], report["added"], report["loops"], report["flagged"]) == (6, 2, 1, 1)
    bad = {b["row"]: b for b in report["bad"]}
    assert sorted(bad) == [3, 4, 5, 6]
    assert bad[3]["fields"] == ["plate"] and "not a plate number" in bad[3]["message"]
    assert "no checkpoint 'CK-NONE'" in bad[4]["message"]
    assert set(bad[5]["fields"]) == {"registered_at"}  # read before the colour is looked at
    assert bad[6]["fields"] == ["driver_phone"]
    with transaction(sessions) as session:  # the same file again stores nothing new
        again = service.import_file(session, env, path, actor="officer", now=AT).as_dict()
    assert (again["added"], again["existed"], len(again["bad"])) == (0, 2, 4)
    with read_transaction(sessions) as session:
        assert session.scalar(select(func.count(Registration.id))) == 2
    assert orders(sessions) == 1


def test_http_registers_within_the_reach_and_answers_masked(world, vault):
    sessions, _env = world
    app = create_app(sessions, vault)
    officer = TestClient(app, headers={"Authorization": f"Bearer {make_token(sessions, ['unit_handler'], 'SH-JA-CJD')}"})
    body = {"checkpoint": "CK-G2", "plate": "蒙A12345", "origin": "呼和浩特市赛罕区", "cargo": "电话13900003333",
            "people": [DRIVER | {"tested_at": (utcnow() - timedelta(hours=2)).isoformat()},
                       {"name": "李四", "phone": "13900004444"}]}
    answer = officer.post("/api/checkpoints/registrations", json=body)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["created"] and found["plate"] == "蒙A***45" and found["cargo"] == "电话139****3333"
    assert found["risk_level"] == "high" and found["loop_order"]
    assert [p["flags"] for p in found["people"]] == [[], ["no_test"]]
    assert found["people"][1]["phone"] == "139****4444"
    assert officer.post("/api/checkpoints/registrations", json=body | {"checkpoint": "CK-JNL"}).status_code == 404
    assert [c["code"] for c in officer.get("/api/checkpoints").json()] == ["CK-G2"]
    wrong = officer.post("/api/checkpoints/registrations", json=body | {"plate": "x"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "plate"
    later = officer.post("/api/checkpoints/registrations", json=body | {"registered_at": "2099-01-01T08:00"})
    assert later.status_code == 422 and later.json()["errors"][0]["field"] == "registered_at"
    counts = officer.get("/api/checkpoints/counts").json()
    assert [(c["checkpoint"], c["vehicles"], c["flagged"]) for c in counts] == [("CK-G2", 1, 1)]
    loops = officer.get("/api/checkpoints/loops").json()
    assert [(lp["plate"], lp["overdue"]) for lp in loops] == [("蒙A***45", False)]
    analyst = TestClient(app, headers={"Authorization": f"Bearer {make_token(sessions, ['analyst'], name='a')}"})
    assert analyst.post("/api/checkpoints/registrations", json=body).status_code == 403


def test_a_resend_with_the_same_idempotency_key_registers_once(world, vault):
    sessions, _env = world
    officer = TestClient(create_app(sessions, vault), headers={
        "Authorization": f"Bearer {make_token(sessions, ['unit_handler'], 'SH-JA-CJD')}", "Idempotency-Key": "ck-1"})
    body = {"checkpoint": "CK-G2", "plate": "蒙A12345", "people": [DRIVER]}  # no time: now, each time
    first = officer.post("/api/checkpoints/registrations", json=body).json()
    assert officer.post("/api/checkpoints/registrations", json=body).json() == first
    assert officer.post("/api/checkpoints/registrations", json=body | {"plate": "蒙A54321"}).status_code == 409
    with read_transaction(sessions) as session:
        assert session.scalar(select(func.count(Registration.id))) == 1
