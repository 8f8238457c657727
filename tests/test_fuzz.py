"""Hostile input: requests generated from cityline's own OpenAPI schema (schemathesis), valid
and invalid, against the real app on a seeded SQLite database, as a city-wide token holding
every role. No answer may be a server error, and every answer must be one the schema
documents: its status, its content type, its body's schema (problems: ``application/problem+json``).

Every operation is fuzzed, the file upload and the writes included: they act on the test's own
database (a revoked token is replaced, so that the run's own token may be revoked too). Besides
random path parameters (mostly 404) each operation is also called with things that exist (an
order, an article, a resident), to reach its checks of state (409). The run is bounded
(``EXAMPLES`` per operation and mode: ~65 s on this 2-core machine under a load of 8-10), derandomized so CI sends
the same requests every time, and not shrunk; a finding names the operation and a request to
replay it. Faster guards of the same schema: the statuses of each kind of operation, the
Idempotency-Key of every create, and 401 without credentials.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict

import pytest
from fastapi.testclient import TestClient

from cityline.accounts.rules import ROLES
from cityline.api import create_app
from cityline.config import get_settings
from cityline.db import make_engine, make_sessionmaker
from cityline.epidemic import service as epidemic
from cityline.problems import PROBLEM
from cityline.schema import create_all
from tests.conftest import make_token
from tests.epidemic.conftest import ORDER
from tests.epidemic.world import write_world
from tests.factories import add_units_and_catalogue, order_body

EXAMPLES = 5  # per operation and mode (valid, invalid, and valid with things that exist): ~700 requests


def _seeded_app(tmp_path, vault):
    """The app on a new SQLite database with units, a catalogue, three orders, an article and
    the epidemic test world; a token of every role; the names of things that exist, by path
    parameter."""
    engine = make_engine(f"sqlite:///{tmp_path / 'fuzz.db'}")
    create_all(engine)
    sessions = make_sessionmaker(engine)
    add_units_and_catalogue(sessions)
    app = create_app(sessions, vault)
    app.state.epidemic_env = epidemic.env_for(vault, get_settings().model_copy(update={"data_dir": tmp_path}))
    token = make_token(sessions, ROLES, name="fuzz")
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        numbers = []
        for text in ("小区门口垃圾三天没人清运，气味很大。", "楼道灯坏了，晚上很黑。", "申请核酸检测上门服务。"):
            answer = client.post("/api/orders", json=order_body(text=text))
            assert answer.status_code == 201
            numbers.append(answer.json()["number"])
        article = {"external_id": "KB-1", "title": "核酸检测点查询", "answer": "拨打12345查询最近的检测点。",
                   "questions": ["哪里可以做核酸"], "category": "EPI.TEST"}
        assert client.post("/api/knowledge/articles", json=article).status_code == 201
        for kind, path in write_world(tmp_path / "world").items():
            if kind in ORDER:
                answer = client.post(f"/api/epidemic/{kind}", files={"file": (path.name, path.read_bytes())})
                assert answer.status_code == 200, answer.text
    known = {"number": numbers[0], "external_id": "KB-1", "person_id": "R01", "kind": "tests"}
    return app, sessions, engine, token, known


# Operations anyone may call; every other one needs a token or the console's session.
PUBLIC = {"POST /api/auth/login", "POST /api/auth/logout", "GET /api/public/knowledge/articles",
          "GET /api/public/knowledge/articles/{external_id}", "GET /api/public/knowledge/search",
          "GET /healthz", "GET /readyz"}
# Creates without an Idempotency-Key, because the same request twice makes one thing anyway.
IDEMPOTENT_BY_NATURE = {
    "POST /api/units": "an upsert by the unit's code",
    "POST /api/dispatch/catalogue": "the rules in force already: 200, no new version",
    "POST /api/dispatch/catalogue/versions/{number}/restore": "the rules in force already: 200, no new version",
}


def _operations() -> list[tuple[str, str, dict]]:
    from cityline.privacy import Vault

    schema = create_app(None, Vault("only-to-describe-the-api")).openapi()  # no database needed
    return [(f"{method.upper()} {path}", path, operation)
            for path, operations in schema["paths"].items() for method, operation in operations.items()]


def test_every_operation_documents_the_problems_of_its_kind():
    operations = _operations()
    assert len(operations) > 60
    for label, path, operation in operations:
        assert bool(operation.get("security")) == (label not in PUBLIC), label
        parameters = operation.get("parameters", [])
        expected = {422}
        if label not in PUBLIC:
            expected |= {401, 403}
        if path.startswith("/api/"):
            expected.add(503)
        if any(p["in"] == "path" for p in parameters):
            expected.add(404)
        if any(p["name"] == "Idempotency-Key" for p in parameters):
            expected.add(409)
        if "requestBody" in operation:
            expected |= {400, 413}
        documented = {int(status) for status in operation["responses"]}
        assert expected <= documented, (label, sorted(expected - documented))
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}, label
                assert response["description"] not in ("Validation Error", "Additional Response"), (label, status)


def test_every_create_takes_an_idempotency_key():
    creates = [(label, operation) for label, _path, operation in _operations()
               if label.startswith("POST") and "201" in operation["responses"]
               or label == "POST /api/epidemic/passes/issue"]
    assert len(creates) >= 8
    for label, operation in creates:
        takes_key = any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
        assert takes_key != (label in IDEMPOTENT_BY_NATURE), label
        if takes_key:
            assert {"200", "409"} <= operation["responses"].keys(), label  # the replay, the other request


def test_without_credentials_every_operation_but_the_public_ones_answers_401(tmp_path, vault):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    create_all(engine)
    with TestClient(create_app(make_sessionmaker(engine), vault)) as anyone:
        for label, path, _operation in _operations():
            if label in PUBLIC:
                continue
            method, _ = label.split(" ", 1)
            answer = anyone.request(method, re.sub(r"\{[^}]+\}", "1", path))
            assert answer.status_code == 401, (label, answer.status_code, answer.text)
            assert answer.headers["content-type"] == PROBLEM and answer.json()["status"] == 401, label
    engine.dispose()


def _checks():
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    def invalid_data_rejected(ctx, response, case):
        """``negative_data_rejection``, but not for a query parameter "made invalid" by a shape
        that a query string cannot tell from a valid value: a list or an object (sent as repeated
        values, of which a string parameter reads the last) or one string for a list (a list of one)."""
        phase = case.meta.phase.data if case.meta else None
        mutations = getattr(phase, "mutations", ())
        if mutations and all(_shape_only(case.operation, m) for m in mutations):
            return None
        return negative_data_rejection(ctx, response, case)

    return [not_a_server_error, status_code_conformance, content_type_conformance,
            response_headers_conformance, response_schema_conformance, invalid_data_rejected]


def _shape_only(operation, mutation) -> bool:
    if mutation.parameter_location.value != "query":
        return False
    if mutation.keywords == ("type",) and mutation.new_value in ("array", "object"):
        return True
    declared = next((p.definition.get("schema", {}) for p in operation.query if p.name == mutation.parameter), {})
    return "array" in str(declared)


def _fuzz(operation, strategy, settings_, auth: dict[str, str], renew_token, seen: dict[str, set[int]]) -> None:
    from hypothesis import given

    checks = _checks()

    @settings_
    @given(case=strategy)
    def run(case) -> None:
        response = case.call_and_validate(headers=auth, checks=checks)
        seen[operation.label].add(response.status_code)
        if operation.path == "/api/tokens/{token_id}/revoke":  # it may have revoked the run's own token
            auth["Authorization"] = f"Bearer {renew_token()}"

    run()


@pytest.mark.slow
def test_generated_requests_get_documented_answers_and_no_server_error(tmp_path, vault):
    import schemathesis
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    app, sessions, engine, token, known = _seeded_app(tmp_path, vault)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    bounded = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                       phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                       print_blob=False)
    auth = {"Authorization": f"Bearer {token}"}
    seen: dict[str, set[int]] = defaultdict(set)
    findings: list[str] = []
    took: dict[str, float] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        started = time.perf_counter()
        names = {p.name for p in operation.path_parameters}
        runs = [(mode, operation.as_strategy(generation_mode=mode, headers=auth))
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
        if names & known.keys():  # and with things that exist, to reach past the 404
            runs.append(("positive, existing", operation.as_strategy(
                headers=auth, path_parameters={name: known[name] for name in names & known.keys()})))
        for mode, strategy in runs:
            try:
                _fuzz(operation, strategy, bounded, auth, lambda: make_token(sessions, ROLES, name="fuzz"), seen)
            except Unsatisfiable:  # nothing of it can be made invalid (no parameters, or any string is valid)
                assert mode == GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as failure:  # every finding is reported, then the test fails
                findings.append(f"{operation.label} ({mode}): {failure}")
        took[operation.label] = time.perf_counter() - started
    engine.dispose()
    print("statuses seen:", {label: sorted(statuses) for label, statuses in seen.items()})
    print("slowest:", sorted(((round(t, 1), label) for label, t in took.items()), reverse=True)[:8])
    assert not findings, f"{len(findings)} findings:\n\n" + "\n\n".join(findings)
