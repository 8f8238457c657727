"""Open311 GeoReport v2 at ``/open311/v2/``: discovery, services, service definitions, requests
(POST with an operator's API token as ``api_key``; GET public) and tokens, each as ``.json`` or
``.xml``.

It is an application of its own, mounted by ``cityline.api`` (``Open311Mount``): the specification's errors (a list
of ``{code, description}``, 400/403/404, in the format the path asks for) are not cityline's
problem details, and its OpenAPI description (``/open311/v2/openapi.json``) is its own. It shares
the main app's database, vault and triage (``parent``, the main app's state).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from cityline import limits
from cityline.accounts import service as accounts
from cityline.accounts.deps import deny
from cityline.db import read_transaction, transaction, utcnow
from cityline.errors import DomainError
from cityline.open311 import rules
from cityline.open311.service import (
    RequestForm,
    RequestQuery,
    create_request,
    find_requests,
    get_request,
    number_for_token,
)
from cityline.privacy import mask_text
from cityline.taxonomy import load_taxonomy

MOUNT = "/open311/v2"
XML = "application/xml"
FormatParam = Annotated[str, Path(pattern="^(json|xml)$", description="json, or xml (the required format)")]
LocaleParam = Annotated[str | None, Query(max_length=16, description="en for English names; default Chinese "
                                                                     "(or the Accept-Language header)")]
# The shipped taxonomy's categories, for the description (the handler checks the taxonomy it loads).
ServiceCodeForm = Annotated[str | None, Form(max_length=64, description="one of GET services",
                                             json_schema_extra={"enum": load_taxonomy().codes("category")})]
JurisdictionParam = Annotated[str | None, Query(max_length=64, description="accepted and ignored: one jurisdiction")]


# What the answers hold, for the OpenAPI description (the handlers build them in rules.py).
class ErrorItem(BaseModel):
    code: int
    description: str


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class AttributeValue(BaseModel):
    key: str
    name: str


class Attribute(BaseModel):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValue]


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[Attribute]


class ServiceRequest(BaseModel):
    service_request_id: str
    status: str = Field(description="open or closed")
    status_notes: str | None
    service_name: str | None
    service_code: str | None
    description: str | None = Field(description="masked: phone and ID numbers show as 139****5678")
    agency_responsible: str | None = Field(description="the unit handling it")
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str | None
    expected_datetime: str | None = Field(description="the resolution deadline")
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class Created(BaseModel):
    service_request_id: str
    token: str
    service_notice: str | None
    account_id: str | None


class TokenAnswer(BaseModel):
    service_request_id: str
    token: str


class Endpoint(BaseModel):
    specification: str
    url: str
    changeset: str
    type: str
    formats: list[str]


class Discovery(BaseModel):
    changeset: str
    contact: str
    key_service: str
    endpoints: list[Endpoint]


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {
        "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/ErrorItem"}}},
        XML: {"schema": {"type": "string"}}}}


def _documented(*statuses: int, success: int = 200) -> dict[int | str, dict[str, Any]]:
    meaning = {400: "a parameter is missing or wrong (each error says which)",
               403: "the api_key is unknown or revoked, or its roles may not create orders",
               404: "no such service, request, token or format"}
    return {success: {"content": {XML: {"schema": {"type": "string"}}}},
            **{status: _error_response(meaning[status]) for status in statuses}}


def _format_of(path: str) -> str:
    return "xml" if path.endswith(".xml") else "json"


def answer(value: Any, fmt: str, root: str, status: int = 200) -> Response:
    """``value`` as JSON, or as XML in ``<root>``."""
    if fmt == "xml":
        return Response(rules.to_xml(root, value), status_code=status, media_type=XML)
    return Response(json.dumps(value, ensure_ascii=False), status_code=status, media_type="application/json")


def refuse(request: Request, status: int, descriptions: list[str]) -> Response:
    return answer(rules.error_list(status, descriptions), _format_of(request.url.path), "errors", status)


class Refused(Exception):
    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__(descriptions[0])
        self.status, self.descriptions = status, list(descriptions)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        return refuse(request, exc.status, exc.descriptions)

    @app.exception_handler(rules.RuleError)
    async def _rule(request: Request, exc: rules.RuleError) -> Response:
        return refuse(request, 400, [str(exc)])

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        status = exc.status if exc.status in (403, 404) else 400
        return refuse(request, status, [f"{e.field}: {e.message}" for e in exc.errors] or [exc.detail])

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e["loc"][:2] == ("path", "format") for e in errors):
            return refuse(request, 404, ["no such format: use .json or .xml"])
        return refuse(request, 400, [f"{e['loc'][-1]}: {e['msg']}" for e in errors])

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        status = exc.status_code if exc.status_code in (403, 404) else 400
        if exc.status_code in (405, 413):
            status = exc.status_code
        return refuse(request, status, [str(exc.detail)])


class Open311Mount:
    """Every request under ``/open311/v2/`` to the Open311 application, the rest to the main one.

    Not Starlette's ``Mount``: its pattern does not match every path (one holding a line break),
    and those would get the main app's problem details instead of the specification's errors."""

    def __init__(self, app: ASGIApp, open311: ASGIApp) -> None:
        self.app, self.open311 = app, open311

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(MOUNT + "/"):
            await self.open311({**scope, "root_path": scope.get("root_path", "") + MOUNT}, receive, send)
        else:
            await self.app(scope, receive, send)


async def _form_items(request: Request) -> list[tuple[str, Any]]:
    """Every field of the form, ``attribute[…]`` ones included (read once; the handler runs in a
    thread, as it writes to the database)."""
    return list((await request.form()).multi_items())


def create_open311_app(parent: Any) -> FastAPI:
    """The Open311 application, on the main app's state (``sessions``, ``vault``, ``classifier``)."""
    app = FastAPI(title="cityline Open311 GeoReport v2", version="v2", docs_url="/docs", redoc_url=None,
                  servers=[{"url": MOUNT}], dependencies=[Depends(limits.refuse_nul_characters)],
                  description="Open311 GeoReport v2 over cityline's orders. Errors are the specification's "
                              "list of {code, description}.")
    _install_errors(app)
    taxonomy = load_taxonomy()

    @app.get("/discovery.{format}", response_model=Discovery, responses=_documented(404))
    def discovery(request: Request, format: FormatParam) -> Response:
        """Where this endpoint is and what it speaks."""
        url = str(request.base_url).rstrip("/") + MOUNT
        return answer({"changeset": rules.CHANGESET, "contact": "12345",
                       "key_service": "an API token with the operator role (`cityline tokens create NAME --role operator`)",
                       "endpoints": [{"specification": rules.SPECIFICATION, "url": url,
                                      "changeset": rules.CHANGESET, "type": "production",
                                      "formats": ["text/xml", "application/json"]}]}, format, "discovery")

    @app.get("/services.{format}", response_model=list[Service], responses=_documented(400, 404))
    def services(request: Request, format: FormatParam, locale: LocaleParam = None,
                 jurisdiction_id: JurisdictionParam = None) -> Response:
        """One realtime service per category of cityline's taxonomy; names in Chinese, or English
        with ``locale=en`` or ``Accept-Language: en``."""
        lang = rules.language(locale, request.headers.get("accept-language"))
        return answer(rules.services(taxonomy, lang), format, "services")

    @app.get("/services/{service_code}.{format}", response_model=ServiceDefinition, responses=_documented(400, 404))
    def service_definition(request: Request, service_code: Annotated[str, Path(max_length=64)],
                           format: FormatParam, locale: LocaleParam = None,
                           jurisdiction_id: JurisdictionParam = None) -> Response:
        """The attributes a service takes (epidemic services: the special groups concerned)."""
        found = rules.definition(taxonomy, service_code, rules.language(locale, request.headers.get("accept-language")))
        if found is None:
            raise Refused(404, f"no service {service_code}")
        return answer(found, format, "service_definition")

    @app.post("/requests.{format}", status_code=201, response_model=list[Created],
              responses=_documented(400, 403, 404, success=201))
    def post_request(
        request: Request, format: FormatParam, form: Annotated[list[tuple[str, Any]], Depends(_form_items)],
        api_key: Annotated[str | None, Form(max_length=200, description="an API token with the operator role")] = None,
        service_code: ServiceCodeForm = None,
        lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
        long: Annotated[float | None, Form(ge=-180, le=180)] = None,
        address_string: Annotated[str | None, Form(max_length=500)] = None,
        address_id: Annotated[str | None, Form(max_length=64, description="the code of a grid (网格)")] = None,
        description: Annotated[str | None, Form(max_length=4000)] = None,
        media_url: Annotated[str | None, Form(max_length=1000)] = None,
        first_name: Annotated[str | None, Form(max_length=50)] = None,
        last_name: Annotated[str | None, Form(max_length=50)] = None,
        phone: Annotated[str | None, Form(max_length=40)] = None,
        email: Annotated[str | None, Form(max_length=200)] = None,
        device_id: Annotated[str | None, Form(max_length=200)] = None,
        account_id: Annotated[str | None, Form(max_length=200)] = None,
        jurisdiction_id: Annotated[str | None, Form(max_length=64)] = None,
        locale: LocaleParam = None,
    ) -> Response:
        """Create a service request: an order (channel app) through intake, with triage, routing
        and deadlines like any other. Form-encoded; ``attribute[special_group][]`` for epidemic
        services. Names, phone and e-mail are personal data: kept protected, never shown."""
        problems = [f"{name}: {limits.NUL_MESSAGE}" for name, value in form
                    if limits.has_nul(name) or (isinstance(value, str) and limits.has_nul(value))]
        if problems:
            raise Refused(400, *problems)
        if not api_key:
            raise Refused(400, "api_key: required (an API token with the operator role)")
        now = utcnow()
        with read_transaction(parent.sessions) as session:
            found = accounts.principal_from_token(session, api_key, now)
        if found is None:
            raise Refused(403, "the api_key is unknown or revoked")
        principal, due = found
        if not principal.can("orders:create"):
            deny(parent.sessions, principal.name, "orders:create")
            raise Refused(403, f"the api_key's roles ({', '.join(sorted(principal.roles))}) may not create "
                               "requests: it needs the operator role")
        if due:
            with transaction(parent.sessions) as session:
                accounts.record_token_use(session, api_key, now)
        problems = []
        if not service_code:
            problems.append("service_code: required")
        elif service_code not in taxonomy.codes("category"):
            problems.append(f"service_code: no service {service_code} (GET services lists them)")
        if (lat is None) != (long is None):
            problems.append("lat and long: give both, or neither")
        if lat is None and not (address_string or address_id):
            problems.append("a location is required: lat and long, address_string or address_id")
        if problems:
            raise Refused(400, *problems)
        assert service_code is not None
        groups = rules.special_groups(taxonomy, service_code, rules.form_attributes(
            (k, v) for k, v in form if isinstance(v, str)))
        lang = rules.language(locale, request.headers.get("accept-language"))
        with transaction(parent.sessions) as session:
            classifier = getattr(parent, "classifier", None)
            order, token = create_request(session, RequestForm(
                service_code=service_code, description=(description or "").strip() or None, lat=lat, lon=long,
                address_string=address_string, address_id=address_id, media_url=media_url,
                caller_name=rules.caller_name(first_name, last_name), phone=phone, email=email,
                device_id=device_id, account_id=account_id, special_groups=groups,
            ), service_name=taxonomy.name(service_code, "zh"), actor=principal.name, now=now, vault=parent.vault,
                classify=classifier(session) if classifier else None)
            number = order.number
        notice = (f"Request {number} received" if lang == "en" else f"诉求已受理，编号 {number}")
        return answer([{"service_request_id": number, "token": token, "service_notice": notice,
                        # masked like every value shown: a client may put an ID or phone number there
                        "account_id": mask_text(account_id) if account_id else None}],
                      format, "service_requests", 201)

    @app.get("/requests.{format}", response_model=list[ServiceRequest], responses=_documented(400, 404))
    def list_requests(
        request: Request, format: FormatParam,
        service_request_id: Annotated[str | None, Query(max_length=4000, description="comma-delimited; overrides the other filters")] = None,
        service_code: Annotated[str | None, Query(max_length=2000, description="comma-delimited")] = None,
        start_date: Annotated[str | None, Query(max_length=40)] = None,
        end_date: Annotated[str | None, Query(max_length=40, description="at most 90 days after start_date")] = None,
        status: Annotated[str | None, Query(max_length=20, description="open, closed, or both comma-delimited")] = None,
        page: Annotated[int, Query(ge=1, le=limits.MAX_PAGE)] = 1,
        page_size: Annotated[int, Query(ge=1, le=200)] = 50,
        locale: LocaleParam = None, jurisdiction_id: JurisdictionParam = None,
    ) -> Response:
        """Service requests made through Open311, newest first: public, masked, no caller."""
        ids = rules.listed(service_request_id)
        if len(ids) > rules.MAX_IDS:
            raise Refused(400, f"service_request_id: at most {rules.MAX_IDS} ids")
        since, until = rules.window(start_date, end_date, utcnow())
        query = RequestQuery(ids=ids, service_codes=rules.listed(service_code, taxonomy.codes("category"), "service_code"),
                             statuses=rules.listed(status, ("open", "closed"), "status"), since=since, until=until)
        lang = rules.language(locale, request.headers.get("accept-language"))
        with read_transaction(parent.sessions) as session:
            views = find_requests(session, query, page=page, page_size=page_size)
        return answer([rules.request_record(v, taxonomy, lang) for v in views], format, "service_requests")

    @app.get("/requests/{service_request_id}.{format}", response_model=list[ServiceRequest],
             responses=_documented(400, 404))
    def read_request(request: Request, service_request_id: Annotated[str, Path(max_length=64)],
                     format: FormatParam, locale: LocaleParam = None,
                     jurisdiction_id: JurisdictionParam = None) -> Response:
        """One service request, as a list of one (as the specification answers)."""
        with read_transaction(parent.sessions) as session:
            view = get_request(session, service_request_id)
        if view is None:
            raise Refused(404, f"no service request {service_request_id}")
        lang = rules.language(locale, request.headers.get("accept-language"))
        return answer([rules.request_record(view, taxonomy, lang)], format, "service_requests")

    @app.get("/tokens/{token}.{format}", response_model=list[TokenAnswer], responses=_documented(400, 404))
    def read_token(token: Annotated[str, Path(max_length=64)], format: FormatParam,
                   jurisdiction_id: JurisdictionParam = None) -> Response:
        """The service request a POST's token stands for."""
        with read_transaction(parent.sessions) as session:
            number = number_for_token(session, token)
        if number is None:
            raise Refused(404, f"no service request with token {token}")
        return answer([{"service_request_id": number, "token": token}], format, "service_requests")

    def openapi() -> dict[str, Any]:
        """FastAPI's description, with the specification's 400 in place of FastAPI's 422."""
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes, servers=app.servers)
            schema["components"]["schemas"]["ErrorItem"] = ErrorItem.model_json_schema()
            for operations in schema["paths"].values():
                for operation in operations.values():
                    operation["responses"].pop("422", None)
                    operation["responses"].setdefault("400", _error_response("a parameter is wrong"))
                    operation["responses"].setdefault("404", _error_response("no such format"))
            for name in ("HTTPValidationError", "ValidationError"):
                schema["components"]["schemas"].pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
