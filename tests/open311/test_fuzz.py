"""Open311 under generated requests (schemathesis) from its own OpenAPI description
(``/open311/v2/openapi.json``), valid and invalid, through the whole app on SQLite: no server
error, and every answer one the description documents (status, content type, JSON schema).
Bounded (``EXAMPLES`` per operation and mode), derandomized, not shrunk."""

from __future__ import annotations

from collections import defaultdict

import pytest
from fastapi.testclient import TestClient

from cityline.api import create_app
from cityline.db import make_engine, make_sessionmaker
from cityline.intake.triage import classify_with
from cityline.schema import create_all
from tests.conftest import make_token
from tests.factories import add_units_and_catalogue
from tests.test_fuzz import _checks

EXAMPLES = 8  # per operation and mode: ~150 requests


def test_the_description_documents_the_specifications_errors(tmp_path, vault):
    engine = make_engine(f"sqlite:///{tmp_path / 'open311.db'}")
    create_all(engine)
    with TestClient(create_app(make_sessionmaker(engine), vault)) as client:
        schema = client.get("/open311/v2/openapi.json").json()
    engine.dispose()
    assert schema["servers"] == [{"url": "/open311/v2"}]
    assert len(schema["paths"]) == 6
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "422" not in operation["responses"], (method, path)
            assert {"400", "404"} <= set(operation["responses"]), (method, path)
            assert "application/xml" in operation["responses"]["200" if method == "get" else "201"]["content"]
            assert operation["responses"]["400"]["content"]["application/json"]["schema"]["items"] == {
                "$ref": "#/components/schemas/ErrorItem"}


def _fuzz(strategy, bounded, checks, api_key: str | None, statuses: set[int]):
    """One bounded run over ``strategy``; a POST's api_key replaced by ``api_key`` when given, to
    get past the key to the request's own checks."""
    from hypothesis import given

    @bounded
    @given(case=strategy)
    def run(case) -> None:
        if api_key and case.method == "POST" and isinstance(case.body, dict):
            case.body["api_key"] = api_key
        statuses.add(case.call_and_validate(checks=checks).status_code)

    return run


@pytest.mark.slow
def test_generated_requests_get_documented_answers_and_no_server_error(tmp_path, vault):
    import schemathesis
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    engine = make_engine(f"sqlite:///{tmp_path / 'open311.db'}")
    create_all(engine)
    sessions = make_sessionmaker(engine)
    add_units_and_catalogue(sessions)
    operator = make_token(sessions, ["operator"], name="open311-fuzz")
    app = create_app(sessions, vault, classifier=classify_with)
    with TestClient(app) as client:
        made = client.post("/open311/v2/requests.json", data={
            "api_key": operator, "service_code": "GEN.ENVIRONMENT", "address_string": "静安区曹家渡街道万航渡路",
            "description": "小区门口垃圾三天没人清运"}).json()[0]
    known = {"service_request_id": made["service_request_id"], "token": made["token"],
             "service_code": "EPI.MEDICAL", "format": "json"}
    schema = schemathesis.openapi.from_asgi("/open311/v2/openapi.json", app)
    bounded = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                       phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                       print_blob=False)
    checks = _checks()
    seen: dict[str, set[int]] = defaultdict(set)
    findings: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {p.name for p in operation.path_parameters}
        runs = [(mode, operation.as_strategy(generation_mode=mode))
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
        if names - {"format"}:  # and with things that exist, to reach past the 404
            runs.append(("positive, existing", operation.as_strategy(
                path_parameters={name: known[name] for name in names})))
        for mode, strategy in runs:
            run = _fuzz(strategy, bounded, checks, operator if mode != GenerationMode.NEGATIVE else None,
                        seen[operation.label])
            try:
                run()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as failure:
                findings.append(f"{operation.label} ({mode}): {failure}")
    engine.dispose()
    print("statuses seen:", {label: sorted(statuses) for label, statuses in seen.items()})
    assert not findings, f"{len(findings)} findings:\n\n" + "\n\n".join(findings)
    # Generated forms seldom hold a service and a place together (creating is test_api.py's); the
    # existing request and token are read.
    assert 400 in seen["POST /requests.{format}"] and 200 in seen["GET /requests/{service_request_id}.{format}"]
    assert 200 in seen["GET /tokens/{token}.{format}"]
