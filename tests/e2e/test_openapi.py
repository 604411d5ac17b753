"""The OpenAPI document: valid 3.1, one entry per route, and real answers match it."""

from __future__ import annotations

import json
import re
from typing import Any, cast

import aiohttp
import pytest
from aio_pika.abc import AbstractExchange, AbstractRobustConnection
from openapi_schema_validator import OAS31Validator, oas31_format_checker, validate
from openapi_spec_validator import validate as validate_spec

from demo.client import Api, sandbox_sms_config
from demo.stack import Stack
from services.campaign.http import openapi, routes
from services.campaign.http.app import ROUTES, create_app
from services.campaign.http.routes import PREFIX
from services.campaign.http.web import State
from shared.db import Pool
from shared.settings import Settings
from tests.e2e.openapi_shape import SNAPSHOT, shape

# jsonschema's FormatChecker with every format it can check (date-time included).
FORMATS = type(oas31_format_checker)()
_GROUP = re.compile(r"\(\?P<(\w+)>([^()]*)\)")
_ALTERNATIVES = re.compile(r"[\w.-]+(?:\|[\w.-]+)*")


# ----------------------------------------------------------------------------------------------
# Routes of the application against the document (no server needed)
# ----------------------------------------------------------------------------------------------


def _expand(formatter: str, pattern: str) -> list[str]:
    """OpenAPI paths of an aiohttp route: ``{x:a|b}`` becomes one path per alternative."""
    regexes = dict(_GROUP.findall(pattern))
    paths = [formatter]
    for name, regex in regexes.items():
        if regex == "[^{}/]+":
            continue  # a plain {name} parameter
        assert _ALTERNATIVES.fullmatch(regex), f"cannot document {{{name}:{regex}}}"
        paths = [p.replace(f"{{{name}}}", word) for p in paths for word in regex.split("|")]
    return paths


def app_operations() -> set[tuple[str, str]]:
    """(method, OpenAPI path relative to the prefix) of every route the application serves."""
    state = State(
        settings=Settings(insecure_dev=True, api_token=None),
        pool=cast(Pool, None),
        amqp=cast(AbstractRobustConnection, None),
        exchange=cast(AbstractExchange, None),
    )
    found: set[tuple[str, str]] = set()
    root: set[str] = set()
    app = create_app(state)
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        assert route.resource is not None
        if route.resource in app[routes.PAGES]:
            continue  # the console's pages, not the API
        info = route.resource.get_info()
        if "path" in info:
            paths = [info["path"]]
        else:
            paths = _expand(info["formatter"], info["pattern"].pattern)
        for path in paths:
            if path.startswith(PREFIX + "/"):
                found.add((route.method, path.removeprefix(PREFIX)))
            else:
                root.add(path)
    # The probes are also served at the root; the document describes them under the prefix.
    assert root == {r.path for r in ROUTES if r.at_root}
    return found


def document_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, methods in document["paths"].items()
        for method in methods
        if method in ("get", "put", "post", "delete", "patch", "options", "head", "trace")
    }


def test_every_route_is_documented_and_nothing_else() -> None:
    served, documented = app_operations(), document_operations(openapi.document(ROUTES))
    assert served - documented == set(), "routes missing from the OpenAPI document"
    assert documented - served == set(), "documented operations the app does not serve"
    assert {("GET", "/customers/{id}"), ("PUT", "/leads")} <= documented


def test_document_is_valid_openapi_31() -> None:
    document = openapi.document(ROUTES)
    validate_spec(json.loads(json.dumps(document)))  # as served: plain JSON
    assert document["openapi"].startswith("3.1.")
    assert document["servers"] == [{"url": "/api/v1"}]


def test_security_matches_the_declarations() -> None:
    public = {route.key for route in ROUTES if route.public}
    for path, methods in openapi.document(ROUTES)["paths"].items():
        for method, operation in methods.items():
            key = (method.upper(), path)
            assert (operation.get("security") == []) == (key in public), key


def test_document_keeps_the_committed_shape() -> None:
    # Same operations, parameters, bodies and answer fields (with their types) as the snapshot
    # taken before the routes became declarations; enum values and prose may change.
    expected = json.loads(SNAPSHOT.read_text())
    actual = shape(openapi.document(ROUTES))
    assert sorted(actual) == sorted(expected), "operations added or removed"
    changed = [op for op in expected if actual[op] != expected[op]]
    assert changed == [], f"operations whose shape changed: {changed}"


def test_request_bodies_come_from_the_models() -> None:
    document = openapi.document(ROUTES)
    schemas = document["components"]["schemas"]
    body = document["paths"]["/campaigns"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/CampaignRequest"}
    assert "filters" in schemas["CampaignRequest"]["properties"]
    assert "#/$defs/" not in json.dumps(document)
    upsert = document["paths"]["/leads"]["put"]["requestBody"]["content"]["application/json"]
    assert upsert["schema"]["items"] == {"$ref": "#/components/schemas/Person"}


# ----------------------------------------------------------------------------------------------
# Real answers against the declared schemas (running stack)
# ----------------------------------------------------------------------------------------------


def _strict(schema: Any) -> Any:
    """The schema with no undeclared properties allowed, to catch undocumented fields."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {k: _strict(v) for k, v in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema:
        strict["additionalProperties"] = False
    return strict


class Checker:
    """Calls the API and checks each answer against the operation's declared response."""

    def __init__(self, api: Api, document: dict[str, Any]) -> None:
        self.api = api
        self.document = document
        self.components = _strict(document["components"])
        self.checked: set[tuple[str, str, int]] = set()

    async def __call__(
        self, method: str, template: str, path: str | None = None, body: Any = None, **kw: Any
    ) -> tuple[int, Any]:
        url = self.api.base_url + (path or template)
        async with self.api.session.request(method, url, json=body, **kw) as response:
            status, media_type, text = response.status, response.content_type, await response.text()
        answer = json.loads(text) if media_type.endswith("json") else text
        operation = self.document["paths"][template][method.lower()]
        declared = operation["responses"].get(str(status))
        assert declared is not None, f"{method} {template}: {status} not declared: {answer}"
        if "$ref" in declared:
            declared = self.document["components"]["responses"][declared["$ref"].split("/")[-1]]
        self.checked.add((method, template, status))
        if "content" not in declared:
            assert text == "", (method, template, status)
            return status, None
        assert media_type in declared["content"], (method, template, media_type)
        schema = {**declared["content"][media_type]["schema"], "components": self.components}
        validate(answer, schema, cls=OAS31Validator, format_checker=FORMATS)
        return status, answer


@pytest.mark.e2e
@pytest.mark.timeout(180)
async def test_answers_match_the_document(api: Api, stack: Stack) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(stack.api_url + "/openapi.json") as response,
    ):
        assert response.status == 200
        served = await response.json()
    validate_spec(served)
    assert served == json.loads(json.dumps(openapi.document(ROUTES)))
    check = Checker(api, served)
    assert (await check("GET", "/openapi.json"))[0] == 200

    # Settings
    status, config = await check("GET", "/config/sms")
    assert status == 200 and config["configured"] is False and config["paused"] is None
    status, config = await check("PUT", "/config/sms", body=sandbox_sms_config(stack.sandbox_url))
    assert status == 200 and config["configured"] is True and "sandbox-secret" not in str(config)
    status, sent = await check("POST", "/config/sms/test", body={"phone": "+27820000008"})
    assert status == 200 and sent["status"] == "sent", sent
    assert await check("POST", "/config/sms/resume") == (200, {"resumed": False})
    assert (await check("PUT", "/config/company", body={"name": "ISP"}))[0] == 200
    assert (await check("GET", "/config/company"))[1]["name"] == "ISP"

    # Directory
    people = [
        {"id": 1, "login": "000001", "full_name": "Ann", "phone": "+27820000001"},
        {
            "id": 2,
            "status": "active",
            "phone": "+27820000002, +27830000002",
            "location_id": 3,
            "services": [{"type": "internet", "tariff_id": 10}],
            "attributes": {"balance": 12.5},
        },
    ]
    assert await check("PUT", "/customers", body=people) == (200, {"upserted": 2})
    status, listed = await check("GET", "/customers")
    assert status == 200 and listed["total"] == 2 and listed["items"][1]["location_id"] == 3
    assert (await check("GET", "/customers/{id}", "/customers/2"))[0] == 200
    assert (await check("PUT", "/leads", body={"id": 1}))[0] == 422
    assert (await check("PUT", "/leads", body=[{"id": 7}]))[0] == 200
    assert (await check("GET", "/leads"))[1]["total"] == 1
    assert (await check("GET", "/leads/{id}", "/leads/2"))[0] == 404
    assert (await check("DELETE", "/leads/{id}", "/leads/7"))[0] == 204
    assert (await check("DELETE", "/customers/{id}", "/customers/99"))[0] == 404
    for collection in ("partners", "locations", "tariffs"):
        names = [{"id": 1, "name": "One"}, {"id": 2, "name": "Two"}]
        assert await check("PUT", f"/{collection}", body=names) == (200, {"upserted": 2})
        status, listed = await check("GET", f"/{collection}")
        assert status == 200 and listed["items"][1] == {"id": 2, "name": "Two"}
    # Ids the directory uses come too, without a name until one is given.
    _, locations = await check("GET", "/locations")
    assert {"id": 3, "name": None} in locations["items"]
    assert (await check("PUT", "/partners", body=[{"id": 1, "name": ""}]))[0] == 422

    # Templates
    template = {"title": "Hello", "channel": "sms", "body": "Dear {{ customer.full_name }}"}
    status, created = await check("POST", "/templates", body=template)
    assert status == 201
    this = f"/templates/{created['id']}"
    assert (await check("PUT", "/templates/{id}", this, body=template))[0] == 200
    assert (await check("GET", "/templates/{id}", this))[0] == 200
    assert (await check("GET", "/templates", params={"channel": "sms"}))[1]["total"] == 1
    status, other = await check("POST", "/templates", body={**template, "title": "Other"})
    assert (await check("DELETE", "/templates/{id}", f"/templates/{other['id']}"))[0] == 204

    # Campaigns
    unknown_filter = {"send_to": "sms", "message": "Hi", "filters": {"colour": "red"}}
    status, problem = await check("POST", "/campaigns", body=unknown_filter)
    assert status == 422 and problem["errors"][0]["field"] == "filters.colour"
    campaign = {"send_to": "sms", "template_id": created["id"]}
    status, preview = await check("POST", "/campaigns/preview", body=campaign)
    assert status == 200 and preview["recipients_total"] == 2 and preview["parts"] == 1
    test = {**campaign, "test_to": "+27820000009"}
    status, queued = await check("POST", "/campaigns/test", body=test)
    assert status == 202 and queued["message"] == "Dear Ann", queued
    status, made = await check("POST", "/campaigns", body=campaign)
    assert status == 202 and made["status"] == "new"
    one = f"/campaigns/{made['id']}"
    assert (await check("POST", "/campaigns/{id}/resume", one + "/resume"))[0] == 409
    done = await api.wait_campaign(made["id"])
    assert done["status"] == "sent"
    assert (await check("GET", "/campaigns/{id}", one))[1]["total"] == 3
    status, history = await check("GET", "/campaigns", params={"period": "today"})
    assert status == 200 and history["total"] == 1
    status, rows = await check("GET", "/campaigns/{id}/recipients", one + "/recipients")
    assert status == 200 and rows["total"] == 3
    message = "/campaigns/{id}/recipients/{customer_id}/message"
    status, got = await check("GET", message, one + "/recipients/2/message")
    assert status == 200 and len(got["messages"]) == 2
    assert (await check("POST", "/campaigns/{id}/pause", one + "/pause"))[0] == 409
    assert (await check("POST", "/campaigns/{id}/cancel", one + "/cancel"))[0] == 409
    assert (await check("DELETE", "/campaigns/{id}", one))[1]["status"] == "removed"

    # Logs
    status, log = await check("GET", "/logs/sms", params={"campaign_id": made["id"]})
    assert status == 200 and log["total"] == 3
    item = f"/logs/sms/{log['items'][0]['id']}"
    assert (await check("GET", "/logs/sms/{id}", item))[0] == 200
    assert (await check("GET", "/logs/sms", params={"status": "lost"}))[0] == 422
    assert (await check("GET", "/logs/email"))[1]["total"] == 0
    assert (await check("GET", "/logs/email/{id}", "/logs/email/1"))[0] == 404

    # Email settings, files and the portal
    status, email = await check("GET", "/config/email")
    assert status == 200 and email["configured"] is False
    smtp = {"host": "127.0.0.1", "port": 2525, "password": "pw", "from_address": "a@isp.example"}
    status, email = await check("PUT", "/config/email", body=smtp)
    assert status == 200 and email["password"] == "***"
    form = aiohttp.FormData()
    form.add_field("file", b"%PDF-1.4 x", filename="a.pdf")
    status, uploaded = await check("POST", "/attachments", data=form)
    assert status == 201 and uploaded["content_type"] == "application/pdf"
    document = {
        "id": 1,
        "customer_id": 1,
        "type": "invoice",
        "number": "1",
        "date": "2026-11-01",
        "amount": "1.00",
        "pdf": "JVBERi0xLjQ=",
    }
    assert await check("PUT", "/documents", body=[document]) == (200, {"upserted": 1})
    status, portal = await check(
        "POST", "/campaigns", body={"send_to": "portal", "subject": "S", "message": "Hi"}
    )
    await api.wait_campaign(portal["id"])
    inbox = "/portal/customers/{id}/messages"
    status, messages = await check("GET", inbox, "/portal/customers/1/messages")
    assert status == 200 and messages["total"] == 1
    read = f"/portal/customers/1/messages/{messages['items'][0]['id']}/read"
    assert (await check("POST", inbox + "/{message_id}/read", read))[0] == 200

    # Tokens
    status, token = await check("POST", "/tokens", body={"role": "viewer", "name": "t"})
    assert status == 201
    assert (await check("GET", "/tokens"))[0] == 200
    assert (await check("DELETE", "/tokens/{id}", f"/tokens/{token['id']}"))[0] == 204
    status, trail = await check("GET", "/audit", params={"kind": "token"})
    assert status == 200 and trail["total"] == 2

    assert (await check("GET", "/dead-letters"))[0] == 200
    assert (await check("GET", "/callbacks/bulksms", params={"secret": "nope"}))[0] == 403

    # Operations and authentication
    assert (await check("GET", "/health"))[0] == 200
    assert (await check("GET", "/ready"))[0] == 200
    assert (await check("GET", "/metrics"))[0] == 200
    status, _ = await check("GET", "/campaigns", headers={"Authorization": "Bearer wrong"})
    assert status == 401

    unchecked = document_operations(served) - {(m, t) for m, t, _ in check.checked}
    assert unchecked == set(), "operations whose answers this test never checked"
