"""One realistic order, with a caller's numbers everywhere a caller or an operator puts them,
through its whole life in the API and the console of every role: no phone or ID number comes
out in full, anywhere (answers, pages, the export, the log), except in the audited reveal.

(``tests/conftest.py`` watches the whole run the same way; this test names each place.)
"""

from __future__ import annotations

import logging
import re

from fastapi.testclient import TestClient

from cityline.accounts.service import list_audit
from cityline.db import transaction
from tests.conftest import DIGIT_RUN, make_token
from tests.factories import add_units_and_catalogue
from tests.web.conftest import People, console_app

TEXT_PHONE, ID18, ID15, LANDLINE = "13912345678", "11010119900307123X", "110101900307123", "02162345678"
ADDRESS_PHONE, NAME_PHONE, CALLER = "13700000002", "13600000003", "13800001234"
NOTE_PHONE, REPLY_PHONE = "13500000004", "15900000005"
NUMBERS = (TEXT_PHONE, ID18, ID15, LANDLINE, ADDRESS_PHONE, NAME_PHONE, CALLER, NOTE_PHONE, REPLY_PHONE)
ORDER = {
    "text": f"王女士来电：楼上装修噪音扰民，手机 139 1234 5678（也可打{TEXT_PHONE}），"
            f"身份证{ID18}，她母亲的旧身份证{ID15}，家里座机021-62345678。",
    "caller_phone": CALLER, "caller_name": f"王女士{NAME_PHONE}",
    "address": f"静安区曹家渡街道万航渡路123弄 联系人{ADDRESS_PHONE}",
    "kind": "complaint", "category": "GEN.HOUSING", "urgency": "normal", "special_groups": ["elderly"],
}
MASKED = ("139****5678", "110101********123X", "110101******123", "021****5678", "137****0002", "136****0003",
          "135****0004", "159****0005")


def full_numbers(text: str) -> set[str]:
    """The numbers of NUMBERS in ``text``, however written (139 1234 5678, 159-0000-0005)."""
    runs = {re.sub(r"[^\dX]", "", m.group().upper()) for m in DIGIT_RUN.finditer(text)}
    return {n for n in NUMBERS if any(n in run for run in runs)}


def test_a_callers_numbers_never_come_out_in_full(sessions, vault, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    add_units_and_catalogue(sessions)
    app = console_app(sessions, vault)
    people = People(app, sessions)
    seen: list[tuple[str, str]] = []  # (what was asked, the answer's text)

    def ask(person: str, method: str, path: str, body: dict | None = None, ok: tuple = (200, 201)) -> dict | str:
        answer = people[person].request(method, path, json=body)
        assert answer.status_code in ok, (person, method, path, answer.status_code, answer.text[:300])
        seen.append((f"{person} {method} {path} → {answer.status_code}", answer.text))
        return answer.json() if answer.headers.get("content-type", "").endswith("json") else answer.text

    # The operator records the call (the form's preview first) …
    ask("operator", "GET", "/intake")
    ask("operator", "POST", "/api/intake/preview", {k: ORDER[k] for k in ("text", "address", "caller_phone")})
    ask("operator", "GET", f"/api/knowledge/search?q=装修噪音怎么办 {TEXT_PHONE}")
    order = ask("operator", "POST", "/api/orders", ORDER)
    number = order["number"]
    assert order["status"] == "received"  # the catalogue does not know GEN.HOUSING: the dispatcher decides
    # … the dispatcher sends it on, with a note …
    ask("dispatcher", "GET", "/queue")
    ask("dispatcher", "GET", "/api/dispatch/queue")
    ask("dispatcher", "POST", f"/api/orders/{number}/moves",
        {"action": "dispatch", "unit": "SH-JA-CJD", "note": f"请先联系{NOTE_PHONE}"})
    # … the street office takes it and replies …
    ask("handler", "GET", "/inbox")
    ask("handler", "POST", f"/api/orders/{number}/moves", {"action": "accept"})
    ask("handler", "POST", f"/api/orders/{number}/moves",
        {"action": "reply", "text": "已电话联系159-0000-0005，施工队已调整作业时间"})
    # … the operator corrects a label and calls back; the supervisor and analyst look on.
    ask("operator", "PUT", f"/api/orders/{number}/labels", {"urgency": "sub_urgent", "note": f"复核 {NOTE_PHONE}"})
    ask("operator", "POST", f"/api/orders/{number}/triage")
    ask("operator", "GET", "/visits")
    ask("supervisor", "GET", "/board")
    ask("operator", "POST", f"/api/orders/{number}/moves", {"action": "visit", "satisfaction": "satisfied"})
    for person in ("operator", "dispatcher", "handler", "supervisor", "analyst", "admin"):
        ask(person, "GET", f"/api/orders/{number}")
        ask(person, "GET", f"/orders/{number}")
        ask(person, "GET", f"/orders?q={TEXT_PHONE}")
        ask(person, "GET", "/api/orders", ok=(200,))
        ask(person, "GET", f"/api/orders?q={ID18}")
        ask(person, "GET", f"/api/orders/{number}/duplicates")
        for page in ("/situation", "/briefings"):
            ask(person, "GET", page, ok=(200, 403))
    export = ask("analyst", "GET", "/api/orders/export.csv")
    assert number in export
    # Requests that fail: a phone number where an order number belongs (API and page), a bad body.
    ask("admin", "GET", f"/api/orders/{TEXT_PHONE}", ok=(404,))
    ask("operator", "GET", f"/orders/{TEXT_PHONE}", ok=(404,))
    ask("operator", "POST", "/api/orders", {**ORDER, "text": " ", "lat": 200}, ok=(422,))
    # A request that fails inside the database (the day's number sequence broken: the insert fails).
    import cityline.intake.service

    monkeypatch.setattr(cityline.intake.service, "allocate_numbers", lambda session, day, count=1: 1)
    token = make_token(sessions, ["operator"], name="gateway")
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}, raise_server_exceptions=False) as gateway:
        failed = gateway.post("/api/orders", json={**ORDER, "external_id": "GW-1"})
        assert failed.status_code == 500
        seen.append(("gateway POST /api/orders → 500", failed.text))

    # Nothing in full, anywhere …
    for asked, text in seen:
        assert not full_numbers(text), f"{asked} showed {sorted(full_numbers(text))} in full"
    logged = "\n".join(logging.Formatter("%(name)s: %(message)s").format(r) for r in caplog.records)
    assert not full_numbers(logged), f"the log showed {sorted(full_numbers(logged))} in full"
    assert f"GET /api/orders/{TEXT_PHONE[:3]}****{TEXT_PHONE[-4:]} 404" in logged
    assert re.search(r"POST /api/orders 500 .* — sqlalchemy\.exc\.IntegrityError", logged)
    # … but masked, not missing: the order page shows every one of them masked.
    page = ask("admin", "GET", f"/orders/{number}")
    for masked in MASKED:
        assert masked in page, masked

    # The audited reveal is the one way to the full numbers: the caller's, and with texts, the text's.
    revealed = people["operator"].post(f"/api/orders/{number}/reveal", json={"reason": "回访核实"}).json()
    assert revealed["caller_phone"] == CALLER and "text" not in revealed
    texts = people["operator"].post(f"/api/orders/{number}/reveal",
                                    json={"reason": f"需拨打另一号码{NOTE_PHONE}", "texts": True})
    assert texts.json()["text"] == ORDER["text"] and texts.json()["address"] == ORDER["address"]
    assert texts.json()["caller_name"] == ORDER["caller_name"] and REPLY_PHONE[:3] in texts.json()["reply"]
    with transaction(sessions) as session:
        reveals = [(e.action, e.target, e.reason) for e in list_audit(session, actor="operator")
                   if e.action.startswith("reveal")]
    assert sorted(reveals) == [("reveal_phone", f"order:{number}", "回访核实"),
                               ("reveal_text", f"order:{number}", f"需拨打另一号码{NOTE_PHONE}")]
    audit = ask("admin", "GET", "/api/audit?action=reveal_text")  # the audit log shows reasons masked
    assert audit[0]["reason"] == "需拨打另一号码135****0004" and not full_numbers(str(audit))
