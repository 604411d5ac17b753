"""Tests of the sandbox BulkSMS gateway (sandbox/)."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from sandbox.app import create_app
from sandbox.config import Config, ConfigError
from sandbox.protocol import eapi_submission, parse_form
from sandbox.state import State, max_per_second

SEND_SMS = "/eapi/submission/send_sms/2/2.0"
SEND_BATCH = "/eapi/submission/send_batch/1/1.0"
CREDITS = "/eapi/user/get_credits/1/1.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
SUCCESS = re.compile(r"0\|IN_PROGRESS\|(\d+)")

Client = TestClient[aiohttp.web.Request, aiohttp.web.Application]


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def client(clock: FakeClock) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(State(clock=clock)))) as test_client:
        yield test_client


async def send(client: Client, path: str = SEND_SMS, **params: str) -> tuple[int, str]:
    form = {"username": "u", "password": "p", "message": "hello", "msisdn": "4915112345678"}
    form.update(params)
    resp = await client.post(path, data=form)
    return resp.status, await resp.text()


async def messages(client: Client) -> list[dict[str, Any]]:
    resp = await client.get("/_sandbox/messages")
    assert resp.status == 200
    data = await resp.json()
    assert data["total"] == len(data["items"])
    items: list[dict[str, Any]] = data["items"]
    return items


async def configure(client: Client, **patch: Any) -> None:
    resp = await client.put("/_sandbox/config", json=patch)
    assert resp.status == 200, await resp.text()


async def stats(client: Client) -> dict[str, Any]:
    resp = await client.get("/_sandbox/stats")
    data: dict[str, Any] = await resp.json()
    return data


async def test_success_answer_format(client: Client) -> None:
    resp = await client.post(SEND_SMS, data={"message": "hi", "msisdn": "4915112345678"})
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    first = SUCCESS.fullmatch(await resp.text())
    assert first is not None
    _, body = await send(client)
    second = SUCCESS.fullmatch(body)
    assert second is not None
    assert int(second.group(1)) > int(first.group(1))


async def test_get_with_query_string(client: Client) -> None:
    resp = await client.get(SEND_SMS, params={"message": "Grüße", "msisdn": "4911111"})
    assert SUCCESS.fullmatch(await resp.text())
    [item] = await messages(client)
    assert (item["msisdn"], item["message"], item["endpoint"]) == ("4911111", "Grüße", "send_sms")


async def test_multiple_msisdn_recorded_separately(client: Client, clock: FakeClock) -> None:
    _, body = await send(client, msisdn="4911111, +4922222", message="Hi there")
    match = SUCCESS.fullmatch(body)
    assert match is not None
    items = await messages(client)
    assert [i["msisdn"] for i in items] == ["4911111", "+4922222"]
    assert {i["message"] for i in items} == {"Hi there"}
    assert {i["batch_id"] for i in items} == {int(match.group(1))}
    assert items[0]["received_at"] == clock.now
    assert items[0]["seq"] < items[1]["seq"]


@pytest.mark.parametrize(
    "params",
    [{"message": ""}, {"msisdn": ""}, {"msisdn": "49-151"}, {"stop_dup_id": "abc"}],
)
async def test_invalid_data_answers_24(client: Client, params: dict[str, str]) -> None:
    status, body = await send(client, **params)
    assert status == 200
    assert body.startswith("24|") and body.endswith("|")
    assert await messages(client) == []


async def test_always_fail_answers_22(client: Client) -> None:
    assert (await send(client, test_always_fail="1"))[1] == "22|INTERNAL_FATAL_ERROR|"
    assert await messages(client) == []


async def test_stop_dup_id_suppresses_second_submission(client: Client) -> None:
    _, first = await send(client, stop_dup_id="4242", message="one")
    _, second = await send(client, stop_dup_id="4242", message="one again")
    _, other = await send(client, stop_dup_id="4243", message="two")
    _, plain = await send(client, message="three")
    assert SUCCESS.fullmatch(first) and second == first
    assert len({first, other, plain}) == 3
    items = await messages(client)
    assert [i["message"] for i in items] == ["one", "two", "three"]
    assert items[0]["stop_dup_id"] == 4242 and items[2]["stop_dup_id"] is None
    data = await stats(client)
    assert (data["received"], data["submissions"], data["duplicates_suppressed"]) == (3, 4, 1)
    # Clearing also forgets the dedup memory.
    await client.delete("/_sandbox/messages")
    _, again = await send(client, stop_dup_id="4242")
    assert SUCCESS.fullmatch(again) and again != first
    assert len(await messages(client)) == 1


async def test_stop_dup_id_window_expires(client: Client, clock: FakeClock) -> None:
    await configure(client, stop_dup_window_s=60)
    _, first = await send(client, stop_dup_id="7")
    clock.now += 59
    assert (await send(client, stop_dup_id="7"))[1] == first
    clock.now += 2
    _, later = await send(client, stop_dup_id="7")
    assert SUCCESS.fullmatch(later) and later != first
    assert len(await messages(client)) == 2


async def test_error_code_for_every_submission(client: Client) -> None:
    await configure(client, error_code=40)
    assert await send(client) == (200, "40|TEMPORARILY_UNAVAILABLE|")
    await configure(client, error_code=None)
    assert SUCCESS.fullmatch((await send(client))[1])
    assert len(await messages(client)) == 1
    assert (await stats(client))["rejected"] == 1


async def test_error_for_some_numbers(client: Client) -> None:
    await configure(client, error_for={"+4922222": 24})
    assert SUCCESS.fullmatch((await send(client, msisdn="4911111"))[1])
    assert (await send(client, msisdn="4922222"))[1] == "24|DATA_VALIDATION_FAILED|"
    assert (await send(client, msisdn="4911111,4922222"))[1].startswith("24|")
    assert [i["msisdn"] for i in await messages(client)] == ["4911111"]


async def test_error_after_count(client: Client) -> None:
    await send(client)  # before the switch: not counted
    await configure(client, error_after={"count": 3, "code": 25})
    bodies = [(await send(client))[1] for _ in range(5)]
    assert all(SUCCESS.fullmatch(b) for b in bodies[:3])
    assert bodies[3:] == ["25|INSUFFICIENT_CREDITS|"] * 2
    assert len(await messages(client)) == 4


async def test_http_status_records_nothing(client: Client) -> None:
    await configure(client, http_status=500)
    status, body = await send(client)
    assert status == 500 and "500" in body
    await configure(client, http_status=None)
    assert (await send(client))[0] == 200
    assert len(await messages(client)) == 1


async def test_fail_first(client: Client) -> None:
    await configure(client, fail_first={"count": 2, "http_status": 503})
    statuses = [(await send(client))[0] for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    assert len(await messages(client)) == 2


async def test_rate_limit(client: Client, clock: FakeClock) -> None:
    await configure(client, rate_limit_per_second=2)
    bodies = [(await send(client))[1] for _ in range(3)]
    assert [bool(SUCCESS.fullmatch(b)) for b in bodies] == [True, True, False]
    assert bodies[2] == "40|TEMPORARILY_UNAVAILABLE|"
    clock.now += 1
    assert SUCCESS.fullmatch((await send(client))[1])
    assert len(await messages(client)) == 3


async def test_credentials(client: Client) -> None:
    await configure(client, credentials={"username": "herald", "password": "s3cret"})
    wrong = await send(client, username="x", password="s3cret")
    assert wrong == (200, "23|invalid credentials (username was: x)|")
    assert SUCCESS.fullmatch((await send(client, username="herald", password="s3cret"))[1])
    credits = await client.get(CREDITS, params={"username": "x", "password": "y"})
    assert (await credits.text()).startswith("23|")
    unauth = await client.post("/v1/messages", json={"to": "4911111", "body": "x"})
    assert unauth.status == 401
    auth = {"Authorization": aiohttp.encode_basic_auth("herald", "s3cret")}
    wrong_auth = {"Authorization": aiohttp.encode_basic_auth("herald", "nope")}
    bad = await client.post("/v1/messages", json={"to": "4911111", "body": "x"}, headers=wrong_auth)
    assert bad.status == 401
    ok = await client.post("/v1/messages", json={"to": "4911111", "body": "x"}, headers=auth)
    assert ok.status == 201
    assert len(await messages(client)) == 2


async def test_credits(client: Client) -> None:
    resp = await client.get(CREDITS)
    assert await resp.text() == "0|1000000.00"
    await send(client, msisdn="4911111,4922222")
    assert await (await client.get(CREDITS)).text() == "0|999998.00"
    await configure(client, credits=1)
    assert (await send(client, msisdn="4911111,4922222"))[1] == "25|INSUFFICIENT_CREDITS|"


async def test_dca_16bit_is_decoded(client: Client) -> None:
    text = "Привет €"
    assert SUCCESS.fullmatch(
        (await send(client, dca="16bit", message=text.encode("utf-16-be").hex()))[1]
    )
    assert (await send(client, dca="16bit", message="zz"))[1].startswith("24|")
    assert [i["message"] for i in await messages(client)] == [text]


async def test_iso_8859_1_form_body_fallback(client: Client) -> None:
    body = b"message=M%FCller+Stra%DFe&msisdn=4911111"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    resp = await client.post(SEND_SMS, data=body, headers=headers)
    assert SUCCESS.fullmatch(await resp.text())
    assert [i["message"] for i in await messages(client)] == ["Müller Straße"]


async def test_send_batch_csv(client: Client) -> None:
    batch = 'msisdn,message\r\n4911111,"Hello, world"\r\n4922222,"Grüße ""Ü"" 😀"\r\n'
    status, body = await send(client, SEND_BATCH, batch_data=batch, stop_dup_id="9")
    match = SUCCESS.fullmatch(body)
    assert status == 200 and match is not None
    assert (await send(client, SEND_BATCH, batch_data=batch, stop_dup_id="9"))[1] == body
    items = await messages(client)
    assert [(i["msisdn"], i["message"]) for i in items] == [
        ("4911111", "Hello, world"),
        ("4922222", 'Grüße "Ü" 😀'),
    ]
    assert {(i["batch_id"], i["endpoint"]) for i in items} == {(int(match.group(1)), "send_batch")}
    assert (await send(client, SEND_BATCH, batch_data="to,text\n1,2"))[1].startswith("24|")


async def test_json_endpoint(client: Client) -> None:
    resp = await client.post("/v1/messages", json={"to": "+4911111", "body": "Hi 😀"})
    assert resp.status == 201
    [single] = await resp.json()
    assert single["to"] == "+4911111" and single["status"]["type"] == "ACCEPTED"
    payload = [{"to": "4922222", "body": "a"}, {"to": ["4933333", "4944444"], "body": "b"}]
    resp = await client.post("/v1/messages", json=payload)
    listed = await resp.json()
    assert [m["to"] for m in listed] == ["4922222", "4933333", "4944444"]
    assert len({m["id"] for m in [single, *listed]}) == 4
    items = await messages(client)
    assert [(i["msisdn"], i["message"], i["endpoint"]) for i in items][:2] == [
        ("+4911111", "Hi 😀", "json"),
        ("4922222", "a", "json"),
    ]
    bad = await client.post("/v1/messages", json={"to": "4911111"})
    assert bad.status == 400


def test_max_per_second_sliding_window() -> None:
    assert max_per_second([]) == 0
    assert max_per_second([5.0]) == 1
    assert max_per_second([0.0, 0.5, 0.99, 1.0, 1.5, 1.6, 1.7]) == 5
    assert max_per_second([3.0, 0.0, 2.0, 1.0]) == 1
    assert max_per_second([1.7, 0.2, 1.1, 0.9, 10.0]) == 3
    assert max_per_second([0.0] * 4 + [0.999, 1.0]) == 5


async def test_stats_over_http(client: Client, clock: FakeClock) -> None:
    empty = await stats(client)
    assert empty["received"] == 0 and empty["first_at"] is None and empty["last_at"] is None
    start = clock.now
    for step in (0.0, 0.3, 0.3, 0.3, 0.5):
        clock.now += step
        await send(client)
    await configure(client, error_code=22)
    await send(client)
    data = await stats(client)
    assert data == {
        "received": 5,
        "submissions": 6,
        "duplicates_suppressed": 0,
        "rejected": 1,
        "max_per_second": 4,
        "first_at": start,
        "last_at": pytest.approx(start + 1.4),
    }


def test_config_validation_is_atomic() -> None:
    config = Config()
    with pytest.raises(ConfigError, match="hang_ms"):
        config.apply({"latency_ms": 5, "hang_ms": -1})
    assert config.latency_ms == 0
    with pytest.raises(ConfigError, match="unknown"):
        config.apply({"latency": 5})
    with pytest.raises(ConfigError, match="error_after"):
        config.apply({"error_after": {"count": 3}})
    with pytest.raises(ConfigError):
        config.apply({"rate_limit_per_second": True})
    assert config.apply({"error_for": {"+491": 24}}) == {"error_for"}
    assert config.error_for == {"491": 24}


async def test_control_api_validation_errors(client: Client) -> None:
    resp = await client.put("/_sandbox/config", json={"latency_ms": "slow"})
    assert resp.status == 400
    assert "latency_ms" in (await resp.json())["error"]
    resp = await client.put("/_sandbox/config", data=b"{not json")
    assert resp.status == 400
    resp = await client.get("/_sandbox/messages", params={"limit": "-1"})
    assert resp.status == 400
    config = await (await client.get("/_sandbox/config")).json()
    assert config["latency_ms"] == 0 and config["credentials"] is None


async def test_messages_paging_and_reset(client: Client) -> None:
    for n in range(5):
        await send(client, message=f"m{n}")
    resp = await client.get("/_sandbox/messages", params={"offset": "1", "limit": "2"})
    page = await resp.json()
    assert page["total"] == 5
    assert [i["message"] for i in page["items"]] == ["m1", "m2"]
    await configure(client, error_code=40, latency_ms=1)
    assert (await client.post("/_sandbox/reset")).status == 200
    assert await messages(client) == []
    config = await (await client.get("/_sandbox/config")).json()
    assert config["error_code"] is None and config["latency_ms"] == 0
    assert (await stats(client))["submissions"] == 0
    assert (await client.get("/_sandbox/health")).status == 200


async def test_latency(client: Client) -> None:
    await configure(client, latency_ms=150)
    started = time.monotonic()
    assert SUCCESS.fullmatch((await send(client))[1])
    assert time.monotonic() - started >= 0.14


async def test_hang_records_before_answering(client: Client) -> None:
    await configure(client, hang_ms=600)
    with pytest.raises(asyncio.TimeoutError):
        await client.post(
            SEND_SMS,
            data={"message": "slow", "msisdn": "4911111"},
            timeout=aiohttp.ClientTimeout(total=0.2),
        )
    assert [i["message"] for i in await messages(client)] == ["slow"]


def test_parse_form_decodes_each_value() -> None:
    params = parse_form(b"a=%C3%BC+x&b=%FC&c=&flag")
    assert params == {"a": "ü x", "b": "ü", "c": "", "flag": ""}
    sub = eapi_submission({"message": "x", "msisdn": "4911111", "stop_dup_id": "12"}, "send_sms")
    assert sub.invalid is None and sub.stop_dup_id == 12 and sub.items == [("4911111", "x")]


async def test_runs_as_module() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox",
        "--port",
        "0",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=20)).decode()
        match = re.fullmatch(r"sandbox gateway ready on (http://127\.0\.0\.1:(\d+))\n", line)
        assert match is not None, line
        assert int(match.group(2)) > 0
        async with aiohttp.ClientSession() as session:
            form = {"message": "from subprocess", "msisdn": "4911111"}
            async with session.post(match.group(1) + SEND_SMS, data=form) as resp:
                assert SUCCESS.fullmatch(await resp.text())
            async with session.get(match.group(1) + "/_sandbox/messages") as resp:
                assert (await resp.json())["total"] == 1
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
