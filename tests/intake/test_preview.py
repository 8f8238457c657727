"""The operator's form asks what cityline would decide while the call is being written up."""

from fastapi.testclient import TestClient

from cityline.api import create_app
from cityline.intake.triage import classify_with
from tests.conftest import make_token
from tests.factories import add_units_and_catalogue


def test_preview_fills_the_form_and_stores_nothing(sessions, vault):
    add_units_and_catalogue(sessions)
    token = make_token(sessions, ["operator"])
    with TestClient(create_app(sessions, vault, classifier=classify_with),
                    headers={"Authorization": f"Bearer {token}"}) as client:
        first = client.post("/api/orders", json={"text": "曹家渡街道万航渡路有位老人透析药吃完了，小区封着出不去",
                                                  "caller_phone": "13800007777"})
        assert first.status_code == 201
        preview = client.post("/api/intake/preview", json={
            "text": "我爸在静安区曹家渡街道，透析的药吃完了，小区封控出不去", "caller_phone": "13800007777"}).json()
        assert preview["triage"]["category"] == "EPI.MEDICAL" and preview["triage"]["urgency"] == "urgent"
        assert (preview["place"]["district"], preview["place"]["street"]) == ("静安区", "曹家渡街道")
        assert preview["suggested_units"][0]["unit"] == "SH-JA-CJD"
        assert preview["duplicates"][0]["number"] == first.json()["number"]
        assert client.get("/api/orders").json()["total"] == 1
        denied = TestClient(create_app(sessions, vault), headers={
            "Authorization": f"Bearer {make_token(sessions, ['analyst'], name='a')}"})
        assert denied.post("/api/intake/preview", json={"text": "口罩"}).status_code == 403
