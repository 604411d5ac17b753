"""Security against the real processes: API tokens, roles and partner scope for every route,
rate and body limits, and process logs free of secrets, phone numbers and message bodies."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from demo.client import Api, sandbox_sms_config
from demo.stack import Stack
from services.campaign.http.app import ROUTES
from services.campaign.http.rules import Scope
from tests.conftest import Isolated, running_stack
from tests.support.eventually import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

RULES = {route.key: route.rule for route in ROUTES}
RATE = 5  # campaigns and test sends per token and minute, in the API-only stack
SECRET = "sandbox-secret"  # the gateway password of demo.client.sandbox_sms_config


@pytest.fixture
def api_stack(isolated: Isolated, tmp_path: Path) -> Iterator[Stack]:
    """The campaign API alone (no resolver, sender or logger), with a low campaign rate."""
    with running_stack(
        isolated,
        tmp_path / "logs",
        only=("campaign",),
        extra_env={"HERALD_CAMPAIGN_RATE_PER_MINUTE": str(RATE)},
    ) as running:
        yield running


@pytest.fixture
async def admin(api_stack: Stack) -> AsyncIterator[Api]:
    client = Api(api_stack.api_url, api_stack.token)
    try:
        yield client
    finally:
        await client.close()


class Tokens:
    """API tokens made through the API, and clients using them."""

    def __init__(self, admin: Api) -> None:
        self.admin = admin
        self.clients: list[Api] = []

    async def make(self, role: str, partner_id: int | None = None) -> tuple[dict[str, Any], Api]:
        body: dict[str, Any] = {"role": role, "name": f"{role} {partner_id or ''}".strip()}
        if partner_id is not None:
            body["partner_id"] = partner_id
        status, made = await self.admin.post("/tokens", body)
        assert status == 201, made
        client = Api(self.admin.base_url, made["token"])
        self.clients.append(client)
        return made, client

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


@pytest.fixture
async def tokens(admin: Api) -> AsyncIterator[Tokens]:
    made = Tokens(admin)
    try:
        yield made
    finally:
        await made.close()


async def _raw(
    url: str, method: str = "GET", token: str | None = None, **kwargs: Any
) -> tuple[int, dict[str, str], Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers.update(kwargs.pop("headers", {}))
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, headers=headers, **kwargs) as response,
    ):
        return response.status, dict(response.headers), await response.json(content_type=None)


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------


async def test_token_lifecycle(admin: Api, tokens: Tokens, api_stack: Stack) -> None:
    made, operator = await tokens.make("operator")
    secret = made["token"]
    assert made["role"] == "operator" and made["partner_id"] is None
    assert secret.startswith(made["prefix"]) and len(secret) > 40

    # Listed without the secret; stored as its SHA-256 only.
    status, listed = await admin.get("/tokens")
    assert status == 200 and listed["total"] == 1
    assert "token" not in listed["items"][0] and secret not in str(listed)
    conn = await asyncpg.connect(api_stack.database_url)
    try:
        row = await conn.fetchrow("SELECT * FROM api_tokens WHERE id = $1", made["id"])
    finally:
        await conn.close()
    assert row is not None
    assert bytes(row["token_hash"]) == hashlib.sha256(secret.encode()).digest()
    assert all(secret not in str(value) for value in dict(row).values())

    # It works, within its role.
    assert (await operator.get("/customers"))[0] == 200
    status, problem = await operator.put("/config/sms", {})
    assert status == 403 and "operator role may not PUT /config/sms" in problem["detail"]
    assert (await operator.post("/tokens", {"role": "admin"}))[0] == 403
    status, listed = await admin.get("/tokens")
    assert listed["items"][0]["last_used_at"] is not None

    # Revoked: refused at once by the process that revoked it.
    assert (await admin.delete(f"/tokens/{made['id']}"))[0] == 204
    status, problem = await operator.get("/customers")
    assert status == 401 and problem["detail"] == "invalid bearer token"
    assert (await admin.delete(f"/tokens/{made['id']}"))[0] == 204  # again: fine
    status, listed = await admin.get("/tokens")
    assert listed["items"][0]["revoked_at"] is not None
    assert (await admin.delete("/tokens/424242"))[0] == 404


async def test_token_requests_are_validated(admin: Api) -> None:
    for body in (
        {"role": "root"},
        {},
        {"role": "admin", "partner_id": 0},
        {"role": "admin", "secret": "mine"},
        {"role": "viewer", "name": "x" * 201},
        {"role": "viewer", "name": "nul \u0000 inside"},
    ):
        status, problem = await admin.post("/tokens", body)
        assert status == 422, (body, problem)


async def test_no_or_bad_token_is_401_problem(api_stack: Stack) -> None:
    url = api_stack.api_url + "/campaigns"
    for token in (None, "wrong", "hrd_" + "A" * 43, api_stack.token + " x"):
        status, headers, body = await _raw(url, token=token)
        assert status == 401 and body["status"] == 401, (token, body)
        assert headers["Content-Type"].startswith("application/problem+json")
        assert "WWW-Authenticate" in headers


# --------------------------------------------------------------------------------------------
# Every route: roles and partner scope (the table of access.py, against the real processes)
# --------------------------------------------------------------------------------------------

PARTNER, OTHER = 1, 2


def _path(template: str, object_id: int) -> str:
    return (
        template.replace("{id}", str(object_id))
        .replace("{customer_id}", "1")
        .replace("{message_id}", "999999")
    )


async def _call(client: Api, method: str, path: str) -> tuple[int, Any]:
    # Writes get a body no handler accepts, so an allowed call changes nothing.
    kwargs: dict[str, Any] = {"json": ["not", "valid"]} if method in ("POST", "PUT") else {}
    return await client.request(method, path, **kwargs)


async def test_every_route_refuses_the_roles_it_lacks(tokens: Tokens) -> None:
    clients = {role: (await tokens.make(role))[1] for role in ("operator", "viewer")}
    wrong = []
    for (method, template), rule in sorted(RULES.items()):
        if rule.public:
            continue
        for role, client in clients.items():
            status, body = await _call(client, method, _path(template, 999999))
            allowed = role in rule.roles
            assert status < 500, (method, template, role, body)
            if (status == 403) == allowed or status == 401:
                wrong.append((method, template, role, status, body))
    assert wrong == []


@pytest.fixture
async def partner_data(admin: Api, api_stack: Stack) -> dict[str, int]:
    """Customers, campaigns and SMS log rows of partner 1, partner 2 and of no partner."""
    people = [
        {"id": 1, "partner_id": PARTNER, "phone": "+27820000001", "full_name": "Own"},
        {"id": 2, "partner_id": OTHER, "phone": "+27820000002", "full_name": "Foreign"},
        {"id": 3, "phone": "+27820000003", "full_name": "Nobody's"},
    ]
    assert (await admin.put("/customers", people))[0] == 200
    assert (await admin.put("/leads", people))[0] == 200
    config = sandbox_sms_config("http://127.0.0.1:9", enabled=False)
    assert (await admin.put("/config/sms", config))[0] == 200
    ids: dict[str, int] = {}
    for name, person in (("own", 1), ("foreign", 2)):
        body = {"send_to": "sms", "message": "Hi", "filters": {"include_ids": [person]}}
        status, campaign = await admin.post("/campaigns", body)
        assert status == 202, campaign
        ids[f"{name}_campaign"] = campaign["id"]
        status, sent = await admin.post("/campaigns/test", {**body, "test_to": "+27829999999"})
        assert status == 202, sent
        ids[f"{name}_sms"] = sent["message_id"]
    # What POST /campaigns will store once it knows the caller's partner (see access.py).
    conn = await asyncpg.connect(api_stack.database_url)
    try:
        await conn.execute(
            "UPDATE campaigns SET partner_id = $2 WHERE id = $1", ids["own_campaign"], PARTNER
        )
        await conn.execute(
            "UPDATE campaigns SET partner_id = $2 WHERE id = $1", ids["foreign_campaign"], OTHER
        )
    finally:
        await conn.close()
    return ids


async def test_partner_scope_on_every_route(tokens: Tokens, partner_data: dict[str, int]) -> None:
    clients = {
        role: (await tokens.make(role, PARTNER))[1] for role in ("admin", "operator", "viewer")
    }
    own = {
        "customer": 1,
        "lead": 1,
        "campaign": partner_data["own_campaign"],
        "sms": partner_data["own_sms"],
    }
    foreign = {
        "customer": 2,
        "lead": 2,
        "campaign": partner_data["foreign_campaign"],
        "sms": partner_data["foreign_sms"],
    }
    wrong = []
    # Deletions last: they remove the objects the other routes are tried on.
    for (method, template), rule in sorted(
        RULES.items(), key=lambda kv: (kv[0][0] == "DELETE", kv[0])
    ):
        if rule.public:
            continue
        for role, client in clients.items():
            if role not in rule.roles:
                continue  # the role test covers it
            subject = rule.subject or ""
            # A missing object's owner row is missing too: the route fails closed.
            cases = [(_path(template, 999999), rule.scope in (Scope.NONE, Scope.HANDLER))]
            if rule.scope is Scope.PATH and subject in own:
                cases += [
                    (_path(template, own[subject]), True),
                    (_path(template, foreign[subject]), False),
                ]
                if subject in ("customer", "lead"):
                    cases.append((_path(template, 3), False))  # no partner: not theirs
            for path, allowed in cases:
                status, body = await _call(client, method, path)
                assert status < 500, (method, path, role, body)
                # Outside the partner, an {id} route answers 404 as for a missing object.
                if rule.scope is Scope.PATH:
                    object_id = path.split("/")[template.split("/").index("{id}")]
                    hidden = f"no {subject} with id {object_id}"
                    refused = status == 404 and body["detail"] == hidden
                else:
                    refused = status == 403
                if refused == allowed or status == 401:
                    wrong.append((method, path, role, status, body))
    assert wrong == []


async def test_partner_token_reads_its_own(tokens: Tokens, partner_data: dict[str, int]) -> None:
    _, viewer = await tokens.make("viewer", PARTNER)
    _, operator = await tokens.make("operator", PARTNER)
    status, person = await operator.get("/customers/1")
    assert status == 200 and person["partner_id"] == PARTNER
    status, problem = await operator.get("/customers/2")
    assert status == 404 and problem["detail"] == "no customer with id 2"
    status, campaign = await viewer.get(f"/campaigns/{partner_data['own_campaign']}")
    assert status == 200 and campaign["id"] == partner_data["own_campaign"]
    assert (await viewer.get(f"/campaigns/{partner_data['foreign_campaign']}"))[0] == 404
    status, log = await viewer.get(f"/logs/sms/{partner_data['own_sms']}")
    assert status == 200 and log["customer_id"] == 1
    assert (await viewer.get(f"/logs/sms/{partner_data['foreign_sms']}"))[0] == 404
    foreign = partner_data["foreign_campaign"]
    assert (await operator.post(f"/campaigns/{foreign}/cancel"))[0] == 404
    assert (await operator.delete(f"/campaigns/{foreign}"))[0] == 404
    # Lists hold only the partner's rows.
    status, people = await operator.get("/customers")
    assert status == 200 and [p["id"] for p in people["items"]] == [1]
    status, history = await viewer.get("/campaigns")
    assert status == 200 and [c["id"] for c in history["items"]] == [partner_data["own_campaign"]]
    status, log = await viewer.get("/logs/sms")
    assert status == 200 and {row["customer_id"] for row in log["items"]} == {1}
    # A campaign created with a partner token reaches only that partner's people...
    status, preview = await operator.post("/campaigns/preview", {"send_to": "sms", "message": "Hi"})
    assert status == 200 and [r["id"] for r in preview["recipients"]] == [1]
    status, made = await operator.post("/campaigns", {"send_to": "sms", "message": "Hi"})
    assert status == 202 and made["filters"]["partner_ids"] == [PARTNER]
    assert (await viewer.get(f"/campaigns/{made['id']}"))[0] == 200
    # ...and cannot name another partner.
    body = {"send_to": "sms", "message": "Hi", "filters": {"partner_ids": [OTHER]}}
    status, problem = await operator.post("/campaigns", body)
    assert status == 403 and problem["errors"][0]["field"] == "filters.partner_ids"


# --------------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------------


async def test_campaign_rate_per_token(admin: Api, tokens: Tokens, api_stack: Stack) -> None:
    made, operator = await tokens.make("operator")
    for _ in range(RATE):
        status, _ = await operator.post("/campaigns/test", {})
        assert status == 422  # counted even when refused: it still costs a try
    url = api_stack.api_url + "/campaigns"
    status, headers, problem = await _raw(url, "POST", made["token"], json={})
    assert status == 429 and problem["status"] == 429
    assert headers["Content-Type"].startswith("application/problem+json")
    assert 1 <= int(headers["Retry-After"]) <= 60 // RATE + 1
    # Another token (here the bootstrap admin) has its own budget; other routes are not limited.
    assert (await admin.post("/campaigns", {}))[0] == 422
    assert (await operator.post("/campaigns/preview", {}))[0] == 422


async def test_body_caps(admin: Api, api_stack: Stack) -> None:
    template = {"title": "t", "channel": "sms", "body": "x" * 2_000_000}
    status, problem = await admin.post("/templates", template)
    assert status == 413 and problem["status"] == 413
    people = [{"id": i, "attributes": {"notes": "y" * 200}} for i in range(1, 10_001)]
    status, body = await admin.put("/customers", people)  # ~2.5 MB: bulk routes take it
    assert status == 200 and body == {"upserted": 10_000}
    status, problem = await admin.get("/customers", params={"limit": "1001"})
    assert status == 422 and problem["errors"][0]["field"] == "limit"


# --------------------------------------------------------------------------------------------
# Process logs
# --------------------------------------------------------------------------------------------

PEOPLE: list[dict[str, Any]] = [
    {
        "id": 1,
        "full_name": "Thandi Quillfeather",
        "phone": "+27821110001, +27831110001",
        "attributes": {"code": "K7-ULTRAMARINE-1"},
    },
    {
        "id": 2,
        "full_name": "Sipho Brackenridge",
        "phone": "+27821110002",
        "attributes": {"code": "K7-ULTRAMARINE-2"},
    },
    {
        "id": 3,
        "full_name": "Naledi Thistlewood",
        "phone": "+27821110003",  # the gateway refuses this one for good
        "attributes": {"code": "K7-ULTRAMARINE-3"},
    },
]
BODY = "Hello {{ customer.full_name }}, your code is {{ customer.attributes.code }}. VERMILION"


async def test_process_logs_hold_no_secrets(configured: Api, sandbox: Api, stack: Stack) -> None:
    api = configured
    await sandbox.put("/config", {"error_for": {"27821110003": 22}})
    assert (await api.put("/customers", PEOPLE))[0] == 200
    status, campaign = await api.post("/campaigns", {"send_to": "sms", "message": BODY})
    assert status == 202, campaign
    done = await api.wait_campaign(campaign["id"])
    assert done["status"] == "sent_with_error" and done["total"] == 4, done
    status, test = await api.post(
        "/campaigns/test", {"send_to": "sms", "message": BODY, "test_to": "+27821110009"}
    )
    assert status == 202, test
    await _wait_final(api, test["message_id"])
    status, direct = await api.post("/config/sms/test", {"phone": "+27821110008"})
    assert status == 200 and direct["status"] == "sent", direct
    # A gateway that refuses the credentials: the error path must not echo them either.
    await sandbox.put("/config", {"credentials": {"username": "herald", "password": "other"}})
    status, refused = await api.post("/config/sms/test", {"phone": "+27821110007"})
    assert status == 200 and refused["status"] == "error", refused
    assert SECRET not in str(refused)

    async def all_logged() -> list[dict[str, Any]] | None:
        # Every message of the test final in the database log (the logger's last batch too).
        status, log = await api.get("/logs/sms", params={"limit": 100})
        rows: list[dict[str, Any]] = log["items"]
        done = not any(row["status"] in ("new", "sending") for row in rows)
        return rows if done and len(rows) >= 7 else None

    rows = await eventually(all_logged, what="the seven messages final in the log")
    # The database log keeps everything for the operator (and the numbers were really sent).
    numbers = {row["recipient"] for row in rows}
    assert {"+27821110001", "+27831110001", "+27821110002", "+27821110003"} <= numbers
    for row in rows:
        status, detail = await api.get(f"/logs/sms/{row['id']}")
        assert SECRET not in str(detail), detail  # stored gateway request: masked

    codes = stack.stop_all()
    assert all(code == 0 for code in codes.values()), codes
    logs = {
        path.name: path.read_text(errors="replace")
        for path in stack.log_dir.glob("*.log")
        if path.name != "sandbox.log"  # the gateway's log, not Herald's
    }
    assert {"campaign.log", "resolver.log", "sender-1.log", "logger.log"} <= set(logs)
    rendered = [
        f"Hello {p['full_name']}, your code is {p['attributes']['code']}. VERMILION" for p in PEOPLE
    ]
    forbidden = [SECRET, "VERMILION", "ULTRAMARINE", "TEST SMS!", *rendered]
    for number in ("+27821110001", "+27831110001", "+27821110002", "+27821110003",
                   "+27821110007", "+27821110008", "+27821110009"):  # fmt: skip
        forbidden += [number, number.lstrip("+"), number.removeprefix("+27")]
    found = [
        (name, word, _line_with(text, word))
        for name, text in logs.items()
        for word in forbidden
        if word in text
    ]
    assert found == [], "secrets, numbers or message bodies in process logs"
    # Messages are logged all the same, by id and masked number (the refused one here).
    assert "***003" in logs["sender-1.log"], logs["sender-1.log"][-2000:]


async def _wait_final(api: Api, message_id: int) -> None:
    async def final() -> bool:
        status, row = await api.get(f"/logs/sms/{message_id}")
        return status == 200 and row["status"] not in ("new", "sending")

    await eventually(final, what=f"SMS {message_id} final")


def _line_with(text: str, word: str) -> str:
    match = re.search(f".*{re.escape(word)}.*", text)
    return match.group(0)[:300] if match else ""
