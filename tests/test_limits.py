"""What a request may carry: its size (413), string lengths and NUL characters (422), page
numbers, times and ids (422). On SQLite and PostgreSQL alike: the answer never depends on which
database stores the value, and is never a 500."""

from __future__ import annotations

from typing import get_args

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from cityline import problems
from cityline.limits import BodyLimit
from tests.factories import order_body

PROBLEM = "application/problem+json"


def test_a_body_over_the_limit_is_413_and_stores_nothing(client):
    huge = order_body(address="静安区" * 700_000)  # about 6 MB of JSON
    response = client.post("/api/orders", json=huge)
    assert response.status_code == 413 and response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["status"] == 413
    assert client.get("/api/orders").json()["total"] == 0


def test_a_chunked_body_over_the_limit_is_413(client):
    def pieces():
        yield b'{"text": "'
        for _ in range(64):
            yield b"x" * 65536
        yield b'"}'

    response = client.post("/api/orders", content=pieces(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert client.get("/api/orders").json()["total"] == 0


def test_a_field_longer_than_its_limit_is_422_naming_it(client):
    response = client.post("/api/orders", json=order_body(address="静安区" * 400))
    assert response.status_code == 422 and response.headers["content-type"].startswith(PROBLEM)
    assert [e["field"] for e in response.json()["errors"]] == ["address"]


def test_a_nul_character_in_the_body_is_422_on_every_database(client):
    response = client.post("/api/orders", json=order_body(text="老人透析药\x00快用完了"))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["text"]
    assert "NUL" in response.json()["errors"][0]["message"]
    assert client.get("/api/orders").json()["total"] == 0


def test_a_nul_character_in_a_query_parameter_is_422(client):
    response = client.get("/api/orders", params={"q": "口罩\x00"})
    assert response.status_code == 422 and response.headers["content-type"].startswith(PROBLEM)
    assert [e["field"] for e in response.json()["errors"]] == ["q"]
    assert client.get("/api/orders/2020%00").status_code == 422


def test_page_numbers_are_bounded(client):
    for params in ({"page": 9223372036854775807}, {"page": 100_001}, {"page_size": 501}, {"page": 0}):
        response = client.get("/api/orders", params=params)
        assert response.status_code == 422, (params, response.status_code)
        assert response.headers["content-type"].startswith(PROBLEM)
    assert client.get("/api/orders", params={"page": 100_000}).json()["items"] == []
    assert client.get("/api/knowledge/articles", params={"page": 9223372036854775807}).status_code == 422
    assert client.get("/api/public/knowledge/articles", params={"page": 9223372036854775807}).status_code == 422
    assert client.get("/api/audit", params={"limit": -1}).status_code == 422


def test_times_and_ids_a_database_cannot_hold_are_422_not_500(client):
    # 0001-01-01 in Shanghai is before year 1 in UTC; 3,000,000,000 is past PostgreSQL's integer.
    assert client.post("/api/orders", json=order_body(received_at="0001-01-01T00:00:00")).status_code == 422
    for params in ({"received_from": "0001-01-01T00:00:00"}, {"due_before": "9999-12-31T23:59:59-12:00"}):
        answer = client.get("/api/orders", params=params)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] in params
    assert client.get("/api/audit", params={"since": "0001-01-01T00:00:00"}).status_code == 422
    assert client.get("/api/analytics/situation", params={"day": "0001-01-01"}).status_code == 422
    assert client.get("/api/epidemic/zones", params={"date": "0001-01-01"}).status_code == 422
    assert client.get("/api/epidemic/coverage", params={"since": "0001-01-01", "until": "0001-01-02"}).status_code == 422
    assert client.post("/api/tokens/3000000000/revoke").status_code == 422
    assert client.post("/api/tokens/99999999999999999999/revoke").status_code == 422
    for method, path in (("post", "/api/notifications/3000000000/read"), ("delete", "/api/webhooks/3000000000"),
                         ("post", "/api/outbox/3000000000/retry"), ("get", "/api/dispatch/catalogue/versions/3000000000"),
                         ("post", "/api/dispatch/catalogue/versions/3000000000/restore")):
        assert getattr(client, method)(path).status_code == 422, path


def test_times_and_days_written_as_numbers_are_422_not_1970(client):
    # pydantic reads a number as seconds since 1970: received_from=20200128 meant 1970-08-22.
    for params in ({"received_from": "20200128"}, {"due_before": "0.01"}):
        answer = client.get("/api/orders", params=params)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] in params, answer.text
        assert "ISO 8601" in answer.json()["errors"][0]["message"]
    assert client.get("/api/analytics/situation", params={"day": "-2.4e-45"}).status_code == 422
    assert client.get("/api/epidemic/zones", params={"date": "0"}).status_code == 422
    assert client.post("/api/orders", json=order_body(received_at=1580140800)).status_code == 422
    assert client.post("/api/orders", json=order_body(received_at="2020-01-28T00:00:00")).status_code == 201
    assert client.get("/api/orders", params={"received_from": "2020-01-28"}).json()["total"] == 1


def test_every_request_schema_bounds_its_strings_and_lists(client):
    """A guard for schemas to come: every string in every request body has a maximum length,
    every list a maximum number of items, and every body model refuses NUL characters."""
    from fastapi.routing import APIRoute

    from cityline.limits import RequestBody

    schemas = client.app.openapi()["components"]["schemas"]
    unbounded, seen = [], set()

    def walk(schema: dict, where: str) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                walk(schemas[name], name)
            return
        for option in schema.get("anyOf", []):
            walk(option, where)
        if "contentMediaType" in schema or "contentMediaType" in schema.get("items", {}):
            return  # a file, or a form's files: bounded by the upload limit (and a handler's count)
        if schema.get("type") == "string" and "format" not in schema and "enum" not in schema \
                and "maxLength" not in schema:
            unbounded.append(where)
        if schema.get("type") == "array":
            if "maxItems" not in schema:
                unbounded.append(f"{where}[]")
            walk(schema.get("items", {}), f"{where}[]")
        for name, field in schema.get("properties", {}).items():
            walk(field, f"{where}.{name}")

    def routes(router) -> list[APIRoute]:  # included routers keep theirs in original_router
        found = []
        for route in router.routes:
            if isinstance(route, APIRoute):
                found.append(route)
            elif hasattr(route, "original_router"):
                found += routes(route.original_router)
        return found

    annotations = [r.body_field.field_info.annotation for r in routes(client.app.router) if r.body_field is not None]
    # An optional body (``Restore | None``) is its model.
    bodies = [next(a for a in get_args(t) if a is not type(None)) if get_args(t) else t for t in annotations]
    for path, item in client.app.openapi()["paths"].items():
        for method, operation in item.items():
            for kind in ("application/json", "multipart/form-data"):
                body = operation.get("requestBody", {}).get("content", {}).get(kind)
                if body:
                    walk(body["schema"], f"{method.upper()} {path}")
    assert len(bodies) >= 15 and seen
    assert not unbounded, f"unbounded strings or lists in request bodies: {unbounded}"
    # A multipart form (FastAPI's generated ``Body_…``: a file upload, an inspection finding with its
    # photos) is bounded by the upload limit (CITYLINE_MAX_UPLOAD_BYTES) and, above, its strings'
    # lengths; its handler refuses NUL (``inspection.api.no_nul``). Every JSON body is a RequestBody.
    json_bodies = [m for m in bodies if not m.__name__.startswith("Body_")]
    assert all(issubclass(model, RequestBody) for model in json_bodies), [
        m for m in json_bodies if not issubclass(m, RequestBody)]


def test_nul_characters_are_refused_in_every_kind_of_body(client):
    article = {"external_id": "KB-NUL", "title": "口罩", "questions": ["哪里买\x00口罩"]}
    answer = client.post("/api/knowledge/articles", json=article)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "questions"
    assert client.post("/api/units", json={"code": "SH\x00", "name": "x", "kind": "centre"}).status_code == 422
    number = client.post("/api/orders", json=order_body()).json()["number"]
    answer = client.post(f"/api/orders/{number}/moves", json={"action": "cancel", "reason": "重复\x00"})
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "reason"


def test_the_body_limit_is_a_setting(sessions, vault, monkeypatch):
    from cityline.api import create_app
    from cityline.config import get_settings
    from tests.conftest import make_token

    monkeypatch.setenv("CITYLINE_MAX_REQUEST_BYTES", "2000")
    get_settings.cache_clear()
    try:
        app = create_app(sessions, vault)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    token = make_token(sessions, ["operator"])
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.post("/api/orders", json=order_body()).status_code == 201
        refused = client.post("/api/orders", json=order_body(text="口罩" * 1000))
        assert refused.status_code == 413 and "2000 bytes" in refused.json()["detail"]


async def _asgi_post(max_bytes: int, chunks: list[bytes], content_length: int | None,
                     content_type: bytes = b"application/json", max_upload_bytes: int | None = None):
    """Send ``chunks`` as separate http.request messages to an app behind BodyLimit; returns
    (status, bytes the app read)."""


    inner = FastAPI()
    problems.install(inner)
    read: list[int] = []

    @inner.post("/echo")
    async def echo(request: Request) -> dict:
        body = await request.body()
        read.append(len(body))
        return {"read": len(body)}

    app = BodyLimit(inner, max_bytes=max_bytes, max_upload_bytes=max_upload_bytes)
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    headers = [(b"content-type", content_type)]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    scope = {"type": "http", "method": "POST", "path": "/echo", "raw_path": b"/echo", "query_string": b"",
             "headers": headers, "http_version": "1.1", "scheme": "http", "server": ("t", 80), "client": ("c", 1),
             "root_path": ""}
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], dict(start["headers"]).get(b"content-type"), read


def test_the_body_limit_counts_chunks_and_does_not_trust_content_length():
    import asyncio

    ten = [b"x" * 10] * 10  # 100 bytes in ten messages
    assert asyncio.run(_asgi_post(100, ten, None)) == (200, b"application/json", [100])
    assert asyncio.run(_asgi_post(99, ten, None)) == (413, b"application/problem+json", [])  # chunked
    assert asyncio.run(_asgi_post(99, ten, 50))[0] == 413  # says 50, sends 100
    assert asyncio.run(_asgi_post(99, [b"x"], 5000))[0] == 413  # refused before reading


def test_a_file_upload_has_its_own_larger_limit():
    import asyncio

    upload = b"multipart/form-data; boundary=x"
    ten = [b"x" * 10] * 10
    assert asyncio.run(_asgi_post(50, ten, None, upload, max_upload_bytes=100))[0] == 200
    assert asyncio.run(_asgi_post(50, ten, None, upload, max_upload_bytes=99))[0] == 413
    assert asyncio.run(_asgi_post(50, ten, 100, upload, max_upload_bytes=99))[0] == 413
    assert asyncio.run(_asgi_post(50, ten, None, max_upload_bytes=1000))[0] == 413  # JSON keeps the small one
