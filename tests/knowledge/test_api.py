"""The knowledge API over HTTP: the editorial workflow, search, answering, the public view."""

from tests.knowledge.conftest import consult, load_starter

PROBLEM = "application/problem+json"
ARTICLE = {"external_id": "KB-API-1", "title": "消费券怎么领取", "questions": ["消费券在哪里领"],
           "answer": "在App的消费券专区领取。", "category": "EPI.WORK"}


def test_four_eyes_workflow_and_the_public_view(as_user, sessions):
    editor, reviewer = as_user("editor"), as_user("reviewer")
    public = as_user("nobody", roles=["analyst"])
    public.headers.pop("Authorization")  # the public endpoints take no sign-in
    created = editor.post("/api/knowledge/articles", json=ARTICLE)
    assert created.status_code == 201 and created.json()["status"] == "draft"
    assert editor.post("/api/knowledge/articles", json=ARTICLE).status_code == 409
    assert public.get("/api/public/knowledge/articles/KB-API-1").status_code == 404

    own = editor.post("/api/knowledge/articles/KB-API-1/review", json={})
    assert own.status_code == 409 and own.headers["content-type"].startswith(PROBLEM)
    assert reviewer.post("/api/knowledge/articles/KB-API-1/review", json={}).json()["status"] == "reviewed"
    published = reviewer.post("/api/knowledge/articles/KB-API-1/publish", json={"note": "市商务委通知"}).json()
    assert (published["status"], published["published_version"]) == ("published", 1)

    shown = public.get("/api/public/knowledge/articles/KB-API-1").json()
    assert (shown["version"], shown["answer"]) == (1, ARTICLE["answer"])
    assert public.get("/api/public/knowledge/search", params={"q": "消费券哪里领"}).json()[0]["external_id"] == "KB-API-1"
    assert public.post("/api/knowledge/articles", json=ARTICLE).status_code == 401  # writing needs sign-in

    editor.put("/api/knowledge/articles/KB-API-1", json={**ARTICLE, "answer": "改到银行网点领取。"})
    assert public.get("/api/public/knowledge/articles/KB-API-1").json()["version"] == 1  # draft v2 not public
    reviewer.post("/api/knowledge/articles/KB-API-1/expire", json={})
    assert public.get("/api/public/knowledge/articles/KB-API-1").status_code == 404
    history = editor.get("/api/knowledge/articles/KB-API-1").json()
    assert [e["action"] for e in history["events"]] == ["create", "review", "publish", "edit", "expire"]
    assert [e["actor"] for e in history["events"]][:3] == ["token:editor", "token:reviewer", "token:reviewer"]


def test_operators_may_answer_but_not_edit(as_user, sessions):
    operator = as_user("op", roles=["operator"])
    response = operator.post("/api/knowledge/articles", json=ARTICLE)
    assert response.status_code == 403 and response.headers["content-type"].startswith(PROBLEM)


def test_answer_a_consultation_from_an_article(as_user, sessions):
    load_starter(sessions)
    operator = as_user("op", roles=["operator"])
    number = consult(sessions, "口罩在哪里预约")
    suggested = operator.get("/api/knowledge/suggest", params={"text": "口罩在哪里预约"}).json()
    assert suggested[0]["external_id"] == "KB-MASK-001"
    answered = operator.post(f"/api/knowledge/articles/{suggested[0]['external_id']}/answer",
                             json={"order": number}).json()
    assert answered["order"]["status"] == "closed" and answered["article_version"] == 1
    event = operator.get(f"/api/orders/{number}").json()["events"][-1]
    assert (event["action"], event["data"]["article"], event["data"]["article_version"]) == (
        "answer", "KB-MASK-001", 1)
    again = operator.post("/api/knowledge/articles/KB-MASK-001/answer", json={"order": number})
    assert again.status_code == 409  # already closed


def test_search_validation_and_unknown_articles(as_user, sessions):
    staff = as_user("staff")
    assert staff.get("/api/knowledge/search", params={"q": ""}).status_code == 422
    answer = staff.get("/api/knowledge/search", params={"q": "口罩哪里买"}).json()
    assert answer["results"] == [] and answer["ranked_by"] == "words and meaning"  # no article yet
    assert staff.get("/api/knowledge/articles/NOPE").status_code == 404
    bad = staff.post("/api/knowledge/articles", json={**ARTICLE, "category": "EPI.NOPE"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "category"
