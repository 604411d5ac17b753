"""Bad input gets a 4xx problem+json naming the field; never a 500."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from demo.client import Api, sandbox_sms_config
from demo.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

GOOD = {"send_to": "sms", "message": "Hello {{ customer.full_name }}"}


def _fields(body: dict[str, Any]) -> list[str]:
    return [error["field"] for error in body["errors"]]


async def _raw(stack: Stack, method: str, path: str, **kwargs: Any) -> tuple[int, str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, stack.api_url + path, **kwargs) as response,
    ):
        return response.status, response.content_type, await response.json(content_type=None)


async def test_missing_gateway_config_is_named(api: Api) -> None:
    await api.put("/customers", [{"id": 1, "phone": "+27820000001"}])
    status, body = await api.post("/campaigns", GOOD)
    assert status == 422 and _fields(body) == ["send_to"]
    assert "not configured" in body["detail"]


async def test_campaign_validation_errors_name_the_field(api: Api, stack: Stack) -> None:
    assert (await api.put("/config/sms", sandbox_sms_config(stack.sandbox_url)))[0] == 200
    await api.put("/customers", [{"id": 1, "phone": "+27820000001", "full_name": "A"}])
    cases: list[tuple[dict[str, Any], str]] = [
        ({**GOOD, "filters": {"colour": "red"}}, "filters.colour"),
        ({**GOOD, "filters": {"status": ["sleeping"]}}, "filters.status[0]"),
        ({**GOOD, "send_to": "pigeon"}, "send_to"),
        ({**GOOD, "recipient_type": "robot"}, "recipient_type"),
        ({**GOOD, "message": "Hi {{ customer.full_name "}, "message"),
        ({**GOOD, "message": "Hi {{ user.name }}"}, "message"),
        ({**GOOD, "message": "Hi {{ customer.attributes.nope }}"}, "message"),
        ({"send_to": "sms", "template_id": 999}, "template_id"),
        ({"send_to": "sms"}, "body"),
    ]
    for request, field in cases:
        status, body = await api.post("/campaigns", request)
        assert status == 422, (request, body)
        assert field in _fields(body) or any(f.startswith(field) for f in _fields(body)), (
            request,
            body,
        )
        assert body["status"] == 422 and body["title"] and body["detail"]


async def test_malformed_json_and_wrong_types(stack: Stack, api: Api) -> None:
    headers = {"Authorization": f"Bearer {stack.token}", "Content-Type": "application/json"}
    status, content_type, body = await _raw(
        stack, "POST", "/campaigns", data=b'{"send_to": "sms",', headers=headers
    )
    assert (status, content_type) == (400, "application/problem+json")
    assert _fields(body) == ["body"]
    status, body = await api.put("/customers", [{"id": "x"}])
    assert status == 422 and _fields(body) == ["[0].id"]
    status, body = await api.put("/customers", {"id": 1})
    assert status == 422 and _fields(body) == ["body"]
    status, body = await api.put("/config/sms", {"method": "PATCH", "url": "ftp://x"})
    assert status == 422 and {"method", "url"} <= set(_fields(body))
    status, body = await api.get("/logs/sms", params={"status": "lost"})
    assert status == 422 and _fields(body) == ["status"]
    status, body = await api.get("/customers", params={"limit": "100000"})
    assert status == 422 and _fields(body) == ["limit"]


async def test_auth_and_unknown_routes_are_problems(stack: Stack) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eDp5"}):
        status, content_type, body = await _raw(stack, "GET", "/campaigns/1", headers=headers)
        assert (status, content_type) == (401, "application/problem+json"), body
    ok = {"Authorization": f"Bearer {stack.token}"}
    status, content_type, body = await _raw(stack, "GET", "/nowhere", headers=ok)
    assert (status, content_type, body["status"]) == (404, "application/problem+json", 404)
    status, _, body = await _raw(stack, "GET", "/campaigns/123456", headers=ok)
    assert status == 404
    async with aiohttp.ClientSession() as session:
        async with session.get(stack.api_url.replace("/api/v1", "") + "/health") as response:
            assert response.status == 200
        async with session.get(stack.api_url + "/ready") as response:
            assert response.status == 200
            assert (await response.json())["checks"] == {"database": "ok", "broker": "ok"}


async def test_secrets_never_come_back(api: Api, stack: Stack) -> None:
    config = sandbox_sms_config(stack.sandbox_url, headers={"X-Api-Key": "k-999"})
    assert (await api.put("/config/sms", config))[0] == 200
    status, shown = await api.get("/config/sms")
    assert "sandbox-secret" not in str(shown) and "k-999" not in str(shown)
    assert shown["configured"] is True
    # Sending the masked form back keeps the stored secrets.
    shown["rate_per_second"] = 25
    status, _ = await api.put("/config/sms", shown)
    assert status == 200


async def test_idempotency_key(api: Api, stack: Stack) -> None:
    await api.put("/config/sms", sandbox_sms_config(stack.sandbox_url, enabled=False))
    await api.put("/customers", [{"id": 1, "phone": "+27820000001", "full_name": "A"}])
    key = {"Idempotency-Key": "abc-1"}
    first = await api.post("/campaigns", GOOD, headers=key)
    again = await api.post("/campaigns", GOOD, headers=key)
    assert first[0] == again[0] == 202 and first[1]["id"] == again[1]["id"]
    status, body = await api.post("/campaigns", {**GOOD, "message": "other"}, headers=key)
    assert status == 422 and _fields(body) == ["Idempotency-Key"]
