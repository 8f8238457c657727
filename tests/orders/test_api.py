"""The order loop over real HTTP, on SQLite and PostgreSQL."""

from fastapi.testclient import TestClient

from cityline.api import create_app
from tests.conftest import make_token
from tests.factories import add_units, order_body

PROBLEM = "application/problem+json"


def create(client, **overrides):
    response = client.post("/api/orders", json=order_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


def move(client, number, action, **params):
    return client.post(f"/api/orders/{number}/moves", json={"action": action, **params})


def test_newcomer_journey_dispatch_to_close_with_history(client, sessions):
    add_units(sessions)
    order = create(client)
    number = order["number"]
    assert order["status"] == "received" and order["caller_phone"] == "138****1234"
    for action, params in [("dispatch", {"unit": "SH-JA-CJD"}), ("accept", {}),
                           ("reply", {"text": "街道已联系社区医生上门配药"}),
                           ("visit", {"satisfaction": "satisfied"}), ("close", {})]:
        response = move(client, number, action, **params)
        assert response.status_code == 200, response.text
    detail = client.get(f"/api/orders/{number}").json()
    assert detail["status"] == "closed" and detail["unit"] == "SH-JA-CJD"
    assert [e["action"] for e in detail["events"]] == ["received", "dispatch", "accept", "reply", "visit", "close"]
    assert [e["to_status"] for e in detail["events"]][-1] == "closed"
    assert all(e["actor"] == "token:tester" for e in detail["events"])
    assert detail["allowed_actions"] == ["reopen"]


def test_number_reads_as_date_and_sequence(client):
    first = create(client, received_at="2020-01-28T08:00:00")
    second = create(client, received_at="2020-01-28T23:59:00+08:00")
    assert (first["number"], second["number"]) == ("20200128-00001", "20200128-00002")


def test_illegal_transition_is_409_and_changes_nothing(client, sessions):
    add_units(sessions)
    number = create(client)["number"]
    before = client.get(f"/api/orders/{number}").json()
    response = move(client, number, "reply", text="已处理")
    assert response.status_code == 409
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == 409 and "reply" in body["detail"] and body["instance"].endswith("/moves")
    assert client.get(f"/api/orders/{number}").json() == before


def test_missing_value_is_422_with_the_field(client):
    number = create(client)["number"]
    response = move(client, number, "dispatch")
    assert response.status_code == 422 and response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["errors"] == [{"field": "unit", "message": "this action needs a value here",
                                          "code": "required"}]


def test_dispatch_to_unknown_unit_is_refused_and_nothing_stored(client, sessions):
    add_units(sessions)
    number = create(client)["number"]
    response = move(client, number, "dispatch", unit="NO-SUCH-UNIT")
    assert response.status_code == 422
    detail = client.get(f"/api/orders/{number}").json()
    assert detail["status"] == "received" and len(detail["events"]) == 1


def test_bad_fields_in_a_new_order_are_named(client):
    response = client.post("/api/orders", json=order_body(text="   ", channel="fax", category="EPI.NOPE"))
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"text", "channel"} <= fields
    response = client.post("/api/orders", json=order_body(category="EPI.NOPE", caller_phone="12"))
    assert response.status_code == 422
    assert any(e["field"] == "category" and "EPI.NOPE" in e["message"] for e in response.json()["errors"])
    assert client.get("/api/orders").json()["total"] == 0


def test_same_external_id_twice_returns_the_first(client):
    first = client.post("/api/orders", json=order_body(external_id="WX-1"))
    again = client.post("/api/orders", json=order_body(external_id="WX-1"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["number"] == first.json()["number"]
    # Another request under the same id is refused, not answered with the first order.
    other = client.post("/api/orders", json=order_body(external_id="WX-1", text="另一段文字"))
    assert other.status_code == 409 and other.json()["errors"][0]["field"] == "text"
    assert client.get("/api/orders").json()["total"] == 1


def test_return_redispatch_and_merge(client, sessions):
    add_units(sessions)
    original = create(client)["number"]
    duplicate = create(client, channel="wechat")["number"]
    move(client, original, "dispatch", unit="SH-JA-JNL")
    response = move(client, original, "return", reason="地址属于曹家渡街道")
    assert response.json()["status"] == "returned" and response.json()["returns"] == 1
    assert move(client, original, "redispatch", unit="SH-JA-CJD").json()["unit"] == "SH-JA-CJD"
    merged = move(client, duplicate, "merge", into=original).json()
    assert (merged["status"], merged["merged_into"]) == ("merged", original)
    assert move(client, duplicate, "merge", into=duplicate).status_code == 409  # already final


def test_merge_into_itself_or_unknown_is_refused(client):
    number = create(client)["number"]
    assert move(client, number, "merge", into=number).status_code == 422
    assert move(client, number, "merge", into="19990101-00001").status_code == 422


def test_merge_target_outside_the_reach_answers_like_a_missing_one(client, sessions, vault):
    """A street's dispatcher cannot merge into another street's order, nor learn that it exists
    or what state it is in: the answer is the one for a number nobody has."""
    add_units(sessions)
    here = create(client, address="静安区曹家渡街道")["number"]
    elsewhere = create(client, address="静安区江宁路街道")["number"]
    cancelled = create(client, address="静安区江宁路街道")["number"]
    move(client, elsewhere, "dispatch", unit="SH-JA-JNL")
    move(client, cancelled, "cancel", reason="重复来电")
    token = make_token(sessions, ["dispatcher"], unit="SH-JA-CJD", name="cjd-dispatcher")
    street = TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"})
    missing = move(street, here, "merge", into="19990101-00001")
    assert missing.status_code == 422
    assert missing.json()["errors"] == [{"field": "into", "message": "no order has this number"}]
    for foreign in (elsewhere, cancelled):
        answer = move(street, here, "merge", into=foreign)
        assert (answer.status_code, answer.text.replace(foreign, "19990101-00001")) == (422, missing.text)
    assert client.get(f"/api/orders/{here}").json()["status"] == "received"
    assert move(client, here, "merge", into=elsewhere).json()["merged_into"] == elsewhere  # the city may


def test_answer_directly_and_reopen_after_unsatisfied_visit(client, sessions):
    add_units(sessions)
    answered = create(client, kind="consult", category="EPI.MASK", urgency="normal", special_groups=[])["number"]
    assert move(client, answered, "answer", text="口罩预约请通过随申办登记").json()["status"] == "closed"
    number = create(client)["number"]
    for action, params in [("dispatch", {"unit": "SH-JA-CJD"}), ("accept", {}), ("reply", {"text": "x"}),
                           ("visit", {"satisfaction": "unsatisfied"})]:
        move(client, number, action, **params)
    reopened = move(client, number, "reopen", reason="药仍未送到").json()
    assert (reopened["status"], reopened["unit"], reopened["reopens"]) == ("dispatched", "SH-JA-CJD", 1)


def test_list_filters_and_pages(client, sessions):
    add_units(sessions)
    for i in range(5):
        create(client, received_at=f"2020-01-2{i + 1}T10:00:00", category="EPI.MASK" if i % 2 else "GEN.HOUSING",
               urgency="normal", kind="consult", special_groups=[], text=f"第{i}单 口罩在哪里买")
    n = client.get("/api/orders", params={"category": "GEN.HOUSING"}).json()
    assert n["total"] == 3
    assert client.get("/api/orders", params={"category": "EPI."}).json()["total"] == 2
    page = client.get("/api/orders", params={"page_size": 2, "page": 2}).json()
    assert page["total"] == 5 and len(page["items"]) == 2
    assert page["items"][0]["received_at"].startswith("2020-01-23")
    window = client.get("/api/orders", params={"received_from": "2020-01-22T00:00:00", "received_to": "2020-01-24T00:00:00"})
    assert window.json()["total"] == 2
    assert client.get("/api/orders", params={"q": "第3单"}).json()["total"] == 1
    number = page["items"][0]["number"]
    move(client, number, "dispatch", unit="SH-JA-CJD")
    assert client.get("/api/orders", params={"unit": "SH-JA-CJD", "status": "dispatched"}).json()["total"] == 1


def test_unknown_order_is_404_problem(client):
    response = client.get("/api/orders/20200101-99999")
    assert response.status_code == 404 and response.headers["content-type"].startswith(PROBLEM)


def test_units_create_and_list(client):
    assert client.post("/api/units", json={"code": "SH", "name": "市热线", "kind": "centre"}).status_code == 201
    bad = client.post("/api/units", json={"code": "X", "name": "x", "kind": "centre", "parent_code": "NOPE"})
    assert bad.status_code == 422 and "NOPE" in bad.json()["detail"]
    child = {"code": "SH-PT", "name": "普陀区城运中心", "kind": "centre", "parent_code": "SH", "district": "普陀区"}
    assert client.post("/api/units", json=child).json()["parent_code"] == "SH"
    assert [u["code"] for u in client.get("/api/units").json()] == ["SH", "SH-PT"]


def test_openapi_is_served(client):
    assert client.get("/docs").status_code == 200
    assert "/api/orders/{number}/moves" in client.get("/openapi.json").json()["paths"]


def test_operator_corrects_triage_and_it_is_recorded(client):
    number = create(client)["number"]
    response = client.put(f"/api/orders/{number}/labels",
                          json={"category": "EPI.SUPPLY", "special_groups": ["elderly"], "note": "主要是缺药和缺菜"})
    assert response.status_code == 200
    body = response.json()
    assert (body["category"], body["special_groups"], body["triage_source"]) == ("EPI.SUPPLY", ["elderly"], "corrected")
    event = client.get(f"/api/orders/{number}").json()["events"][-1]
    assert event["action"] == "labels_corrected"
    assert event["data"]["before"]["category"] == "EPI.MEDICAL" and event["data"]["after"]["category"] == "EPI.SUPPLY"
    bad = client.put(f"/api/orders/{number}/labels", json={"urgency": "very"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "urgency"
    assert client.get(f"/api/orders/{number}").json()["urgency"] == "urgent"


def test_foreign_language_queue(client):
    create(client, language="en", text="I am a foreign resident and need to know where to get tested")
    create(client, language="zh")
    foreign = client.get("/api/orders", params={"language": "foreign"}).json()
    assert foreign["total"] == 1 and foreign["items"][0]["language"] == "en"


def test_answer_records_the_knowledge_article_version(client):
    number = create(client, kind="consult", category="EPI.MASK", urgency="normal", special_groups=[])["number"]
    move(client, number, "answer", text="每户每次可预约5只口罩", article="KB-MASK-01", article_version=3)
    event = client.get(f"/api/orders/{number}").json()["events"][-1]
    assert (event["action"], event["data"]["article"], event["data"]["article_version"]) == ("answer", "KB-MASK-01", 3)


def test_a_page_by_number_is_its_slice_of_the_whole_list(client, sessions):
    """A page asked by number (its orders' ids found first, then read) is the list's own slice,
    with a filter, a text search and either sort; past the last page, nothing."""
    add_units(sessions)
    for i in range(9):  # ties of received_at among them, and two categories
        create(client, received_at=f"2020-01-2{min(i, 6)}T10:00:00", urgency="normal", kind="report",
               special_groups=[], category="GEN.HOUSING" if i % 3 else "GEN.SAFETY",
               text=f"路灯不亮第{i}单" if i % 2 else f"楼上噪音第{i}单")
    for params in ({}, {"category": "GEN.HOUSING"}, {"q": "路灯"}, {"sort": "deadline"}, {"q": "噪音", "sort": "deadline"}):
        whole = [o["number"] for o in client.get("/api/orders", params={**params, "page_size": 50}).json()["items"]]
        assert len(whole) >= 4, params
        for page in (2, 3, 5, 9):
            shown = client.get("/api/orders", params={**params, "page_size": 2, "page": page}).json()["items"]
            assert [o["number"] for o in shown] == whole[(page - 1) * 2:page * 2], (params, page)


def test_the_list_reads_on_by_cursor_and_counts_up_to_a_limit(client, sessions):
    """Keyset pages: following ``next`` gives every order once, in the order ``page=`` gives them
    (ties of received_at broken by id), with the filters kept; a cursor not of this list is 422."""
    from cityline.orders import queries

    add_units(sessions)
    for i in range(7):  # two pairs received at the same instant: the cursor must not skip or repeat one
        create(client, received_at=f"2020-01-2{min(i, 5)}T10:00:00", category="GEN.HOUSING", urgency="normal",
               kind="consult", special_groups=[], text=f"第{i}单")
    by_page = [o["number"] for p in (1, 2, 3, 4) for o in
               client.get("/api/orders", params={"page_size": 2, "page": p}).json()["items"]]
    by_cursor, link = [], "/api/orders?page_size=2&category=GEN.HOUSING"
    while link:
        page = client.get(link).json()
        assert page["total"] == 7 and not page["total_capped"] and "category=GEN.HOUSING" in (page["next"] or link)
        by_cursor += [o["number"] for o in page["items"]]
        link = page["next"]
    assert by_cursor == by_page and len(set(by_cursor)) == 7
    deadline = client.get("/api/orders", params={"page_size": 3, "sort": "deadline"}).json()
    after = client.get("/api/orders", params={"page_size": 3, "sort": "deadline", "cursor": deadline["next_cursor"]})
    assert [o["number"] for o in after.json()["items"]] == [
        o["number"] for o in client.get("/api/orders", params={"page_size": 3, "page": 2, "sort": "deadline"}).json()["items"]]
    for bad, params in (("not-a-cursor", {}), (deadline["next_cursor"], {"sort": "received"})):
        refused = client.get("/api/orders", params={"cursor": bad, **params})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "cursor"
    with sessions() as session:  # the count stops at its limit and says there are more
        _rows, total, _next = queries.list_orders(session, queries.OrderFilter(), count_limit=5)
    assert (int(total), total.more, str(total)) == (5, True, "5+")
