"""Text searches treat LIKE's wildcards as the characters they are: ``q=%`` finds the orders that
contain a percent sign, not every order. On SQLite and PostgreSQL."""

from tests.factories import order_body


def test_like_wildcards_in_a_search_are_plain_characters(client):
    for text in ("口罩排队", "打折100%", "a_b 路灯", "a/b 路灯"):
        assert client.post("/api/orders", json=order_body(text=text, address=None)).status_code == 201
    found = {q: [o["text"] for o in client.get("/api/orders", params={"q": q}).json()["items"]]
             for q in ("%", "_", "/", "0%", "a_b", "口罩")}
    assert found == {"%": ["打折100%"], "_": ["a_b 路灯"], "/": ["a/b 路灯"], "0%": ["打折100%"],
                     "a_b": ["a_b 路灯"], "口罩": ["口罩排队"]}
    assert client.get("/api/orders", params={"category": "%."}).json()["total"] == 0
    assert client.get("/api/orders", params={"special_group": "%"}).json()["total"] == 0
    assert client.get("/api/orders", params={"special_group": "elderly"}).json()["total"] == 4


def test_like_wildcards_in_knowledge_search_are_plain_characters(client):
    for external_id, title in (("KB-1", "口罩预约"), ("KB-2", "100%退款"), ("KB-3", "a_b 路灯")):
        response = client.post("/api/knowledge/articles", json={"external_id": external_id, "title": title})
        assert response.status_code == 201, response.text
    titles = {q: sorted(a["title"] for a in client.get("/api/knowledge/articles", params={"q": q}).json()["items"])
              for q in ("%", "_", "口罩")}
    assert titles == {"%": ["100%退款"], "_": ["a_b 路灯"], "口罩": ["口罩预约"]}
    assert client.get("/api/knowledge/articles", params={"category": "%"}).json()["total"] == 0
