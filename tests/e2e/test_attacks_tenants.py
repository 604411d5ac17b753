"""Attacks on the partner scope (issue 13, "Tenants"): each test failed on the code before its
fix. A partner token must not reach another partner's files, inbox messages or documents,
nor learn which ids exist outside its partner."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from demo.client import Api
from demo.stack import Stack
from services.sender import repo as sender_repo
from shared import db, ledger
from tests.e2e.test_security import Tokens, admin, api_stack, tokens  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

PARTNER, OTHER = 1, 2
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
SMTP = {"enabled": False, "host": "127.0.0.1", "port": 9, "from_address": "noc@example.net"}


@pytest.fixture
async def people(admin: Api) -> AsyncIterator[None]:  # noqa: F811
    """Customers and leads 1 (partner 1) and 2 (partner 2), with emails; email configured."""
    records = [
        {"id": 1, "partner_id": PARTNER, "email": "own@example.net", "full_name": "Own"},
        {"id": 2, "partner_id": OTHER, "email": "other@example.net", "full_name": "Other"},
    ]
    assert (await admin.put("/customers", records))[0] == 200
    assert (await admin.put("/leads", records))[0] == 200
    assert (await admin.put("/config/email", SMTP))[0] == 200
    yield


async def _upload(client: Api, name: str = "logo.png", data: bytes = PNG) -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="image/png")
    status, made = await client.request("POST", "/attachments", data=form)
    assert status == 201, made
    return dict(made)


def fields(problem: dict[str, Any]) -> list[str]:
    """The fields a problem names."""
    return [e["field"] for e in problem.get("errors", [])]


@pytest.fixture
async def operators(tokens: Tokens, people: None) -> tuple[Api, Api]:  # noqa: F811
    """Operator clients of partner 1 and of partner 2."""
    return (await tokens.make("operator", PARTNER))[1], (await tokens.make("operator", OTHER))[1]


async def test_a_partner_cannot_use_another_partners_attachment(
    operators: tuple[Api, Api],
) -> None:
    own, other = operators
    mine, theirs = await _upload(own), await _upload(other)
    body = {"send_to": "email", "subject": "Hi", "message": "Hi"}

    status, preview = await own.post("/campaigns/preview", {**body, "attachments": [mine["id"]]})
    assert status == 200 and [a["id"] for a in preview["attachments"]] == [mine["id"]]
    for path, extra in (
        ("/campaigns/preview", {}),
        ("/campaigns/test", {"test_to": "qa@example.net"}),
        ("/campaigns", {}),
    ):
        status, problem = await own.post(path, {**body, **extra, "attachments": [theirs["id"]]})
        assert status == 422 and fields(problem) == ["attachments"], (path, problem)
        assert "other@" not in str(problem) and theirs["filename"] not in str(problem)


async def test_a_leads_portal_message_never_shows_in_the_customers_inbox(
    admin: Api,  # noqa: F811
    api_stack: Stack,  # noqa: F811
    people: None,
) -> None:
    pool = await db.create_pool(api_stack.database_url, max_size=1)
    try:
        expires = datetime.now(UTC) + timedelta(days=1)
        for kind, subject in (("lead", "For the lead"), ("customer", "For the customer")):
            message_id = await ledger.insert_test_message(
                pool,
                channel="portal",
                recipient="",
                text=subject,
                subject=subject,
                expires_at=expires,
                recipient_kind=kind,
                customer_id=1,
            )
            assert await sender_repo.store_portal_message(pool, message_id)
    finally:
        await pool.close()
    status, inbox = await admin.get("/portal/customers/1/messages")
    assert status == 200, inbox
    assert [m["subject"] for m in inbox["items"]] == ["For the customer"]
    assert inbox["total"] == 1


async def test_an_id_route_fails_closed_when_the_owner_row_is_missing(
    admin: Api,  # noqa: F811
    operators: tuple[Api, Api],
) -> None:
    operator = operators[0]
    assert (await operator.get("/portal/customers/1/messages"))[0] == 200
    # No customer 424242: no owner, so no partner can claim its inbox.
    status, problem = await operator.get("/portal/customers/424242/messages")
    assert status == 404, problem
    status, problem = await operator.post("/portal/customers/424242/messages/1/read")
    assert status == 404, problem
    # Nor can an unscoped token: an inbox without its customer is nobody's.
    status, problem = await admin.get("/portal/customers/424242/messages")
    assert status == 404 and problem["detail"] == "no customer with id 424242", problem


async def test_financial_documents_attach_only_to_customers(
    admin: Api,  # noqa: F811
    people: None,
) -> None:
    body = {
        "recipient_type": "lead",
        "send_to": "email",
        "subject": "Your invoice",
        "message": "Hi",
        "attach_financial_documents": ["invoice"],
    }
    for path in ("/campaigns/preview", "/campaigns"):
        status, problem = await admin.post(path, body)
        assert status == 422 and fields(problem) == ["attach_financial_documents"], problem
    status, _ = await admin.post("/campaigns/preview", {**body, "recipient_type": "customer"})
    assert status == 200


async def test_objects_outside_the_partner_answer_404_like_missing_ones(
    tokens: Tokens,  # noqa: F811
    operators: tuple[Api, Api],
) -> None:
    operator = operators[0]
    _, admin_of_partner = await tokens.make("admin", PARTNER)
    assert (await operator.get("/customers/1"))[0] == 200
    for path in ("/customers/2", "/leads/2", "/portal/customers/2/messages"):
        foreign_status, foreign = await operator.get(path)
        missing_status, missing = await operator.get(path.replace("/2", "/424242"))
        assert foreign_status == missing_status == 404, (path, foreign, missing)
        # The same answer, but for the id: nothing tells a foreign id from a missing one.
        assert foreign["detail"].replace("2", "N") == missing["detail"].replace("424242", "N")
    assert (await admin_of_partner.delete("/customers/2"))[0] == 404


async def test_test_to_is_one_destination(admin: Api, people: None) -> None:  # noqa: F811
    body = {"send_to": "email", "subject": "Hi", "message": "Hi", "filters": {"include_ids": [1]}}
    # Five tries: the stack allows five test sends per token and minute.
    for test_to in (
        "a@example.net,b@example.net",
        "a@example.net; b@example.net",
        "a@example.net\r\nBcc: b@example.net",
        "a@b@example.net",
    ):
        status, problem = await admin.post("/campaigns/test", {**body, "test_to": test_to})
        assert status == 422 and fields(problem) == ["test_to"], (test_to, problem)
    sms = {**body, "send_to": "sms", "test_to": "+27820000001,+27820000002"}
    status, problem = await admin.post("/campaigns/test", sms)
    assert status == 422 and fields(problem) == ["test_to"], problem
