"""Attacks on cost and input (issue 13, "Cost and input"): each test failed on the code before
its fix. Nobody on the network makes the API count the ledger, a list holds a connection for
long, an upload streams without end, or a body or path reaches a 500."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest

from demo.client import Api
from demo.stack import Stack
from services.campaign.logs.repo import LogQuery, where_of
from tests.e2e.test_attacks_tenants import PNG, SMTP, fields
from tests.e2e.test_security import Tokens, admin, api_stack, tokens  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


async def _raw(
    stack: Stack, method: str, path: str, token: str | None = None, **kwargs: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers.update(kwargs.pop("headers", {}))
    timeout = aiohttp.ClientTimeout(total=kwargs.pop("timeout", 30))
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.request(method, stack.api_url + path, headers=headers, **kwargs) as response,
    ):
        text = await response.text()
        return response.status, text


@pytest.fixture
async def conn(api_stack: Stack) -> AsyncIterator[asyncpg.Connection[asyncpg.Record]]:  # noqa: F811
    connection = await asyncpg.connect(api_stack.database_url)
    try:
        yield connection
    finally:
        await connection.close()


async def test_metrics_need_a_token_and_are_cached(
    api_stack: Stack,  # noqa: F811
    tokens: Tokens,  # noqa: F811
    conn: asyncpg.Connection[asyncpg.Record],
) -> None:
    assert (await _raw(api_stack, "GET", "/metrics"))[0] == 401
    made, _ = await tokens.make("viewer")
    status, first = await _raw(api_stack, "GET", "/metrics", made["token"])
    assert status == 200 and "herald_dead_letters 0.0" in first
    await conn.execute(
        "INSERT INTO dead_letters (source, reason, body) VALUES ('test', 'test', '')"
    )
    # Within 15 s, scrapes answer the cached figures: no count per request.
    status, second = await _raw(api_stack, "GET", "/metrics", made["token"])
    assert status == 200 and "herald_dead_letters 0.0" in second


async def test_deep_offsets_are_refused(admin: Api) -> None:  # noqa: F811
    for path in ("/customers", "/campaigns", "/logs/sms", "/tokens"):
        status, problem = await admin.get(path, params={"offset": "100001"})
        assert status == 422 and fields(problem) == ["offset"], (path, problem)
        assert (await admin.get(path, params={"offset": "100000"}))[0] == 200


async def test_a_list_behind_a_lock_gives_its_connection_back(
    api_stack: Stack,  # noqa: F811
    conn: asyncpg.Connection[asyncpg.Record],
) -> None:
    # A list that cannot finish (here: a lock; in production, a scan of a huge table) is
    # cancelled by Postgres, not left holding a pooled connection for a minute.
    async with conn.transaction():
        await conn.execute("LOCK TABLE people IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        status, text = await _raw(api_stack, "GET", "/customers", api_stack.token, timeout=25)
        elapsed = time.monotonic() - started
    assert status == 503 and "took longer" in text, text
    assert 9 < elapsed < 20


async def test_the_partner_scope_of_the_log_is_not_a_subquery_per_row(
    api_stack: Stack,  # noqa: F811
    conn: asyncpg.Connection[asyncpg.Record],
) -> None:
    where, args = where_of(LogQuery(channel="sms", partner_id=1))
    plan = "\n".join(
        row[0] for row in await conn.fetch(f"EXPLAIN SELECT id FROM messages WHERE {where}", *args)
    )
    # A correlated subquery runs per row: a condition naming "(SubPlan n)"; an uncorrelated
    # one is hashed once per query ("hashed SubPlan n"). The "SubPlan n" lines are headers.
    conditions = [line for line in plan.splitlines() if not re.fullmatch(r"\s*SubPlan \d+", line)]
    correlated = [line for line in conditions if re.search(r"(?<!hashed )SubPlan \d+", line)]
    assert correlated == [], plan


async def test_an_upload_is_bounded_in_total_bytes(api_stack: Stack) -> None:  # noqa: F811
    boundary = "herald-boundary"

    async def body() -> AsyncIterator[bytes]:
        # A field that is not a file, 12 MiB long, sent chunked (no Content-Length).
        yield (f'--{boundary}\r\nContent-Disposition: form-data; name="padding"\r\n\r\n').encode()
        for _ in range(12 * 16):
            yield b"x" * 65536
            await asyncio.sleep(0)
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    status, text = await _raw(
        api_stack, "POST", "/attachments", api_stack.token, data=body(), headers=headers
    )
    assert status == 413, text


async def test_uploaded_names_are_cleaned_and_follow_the_sniffed_type(
    api_stack: Stack,  # noqa: F811
) -> None:
    boundary = "herald-boundary"
    for name, stored in (
        ("evil%0D%0AX-Injected: 1%07.html", "evilX-Injected: 1.png"),
        ("../../etc/invoice.exe", "invoice.png"),
        ("logo", "logo.png"),
    ):
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file";'
                f' filename="{name}"\r\nContent-Type: text/html\r\n\r\n'
            ).encode()
            + PNG
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        status, text = await _raw(
            api_stack, "POST", "/attachments", api_stack.token, data=body, headers=headers
        )
        assert status == 201, text
        assert f'"filename": "{stored}"' in text and '"content_type": "image/png"' in text, text


async def test_line_breaks_in_email_headers_are_refused_when_written(
    admin: Api,  # noqa: F811
) -> None:
    assert (await admin.put("/customers", [{"id": 1, "email": "a@example.net"}]))[0] == 200
    assert (await admin.put("/config/email", SMTP))[0] == 200
    for subject in ("Hi\r\nBcc: all@example.net", "Hi\nthere", "Hi\rthere"):
        body = {"send_to": "email", "subject": subject, "message": "Hi"}
        for path in ("/campaigns/preview", "/campaigns"):
            status, problem = await admin.post(path, body)
            assert status == 422 and fields(problem) == ["subject"], (path, subject, problem)
    template = {"title": "t", "channel": "email", "subject": "Hi\r\nBcc: x", "body": "Hi"}
    status, problem = await admin.post("/templates", template)
    assert status == 422 and fields(problem) == ["subject"], problem
    status, problem = await admin.put("/config/email", {**SMTP, "from_name": "NOC\r\nBcc: x"})
    assert status == 422 and fields(problem) == ["from_name"], problem


async def test_deep_json_is_a_400(api_stack: Stack) -> None:  # noqa: F811
    deep = "[" * 10_000 + "]" * 10_000
    headers = {"Content-Type": "application/json"}
    for path in ("/campaigns/preview", "/customers"):
        method = "PUT" if path == "/customers" else "POST"
        status, text = await _raw(
            api_stack, method, path, api_stack.token, data=deep, headers=headers
        )
        assert status == 400 and "nested too deeply" in text, (path, status, text)


async def test_unicode_digits_in_paths_are_404(
    api_stack: Stack,  # noqa: F811
    tokens: Tokens,  # noqa: F811
) -> None:
    made, _ = await tokens.make("operator", 1)
    for token in (api_stack.token, made["token"]):
        for path in ("/campaigns/²", "/customers/١٢", "/campaigns/²/recipients"):
            status, text = await _raw(api_stack, "GET", path, token)
            assert status == 404, (path, status, text)
