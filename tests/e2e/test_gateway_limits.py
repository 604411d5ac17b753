"""The shared rate limit across sender processes, and the gateway-wide pause."""

from __future__ import annotations

import asyncio

import pytest

from demo.client import Api, sandbox_sms_config
from demo.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

RATE = 50
BURST = 2


async def _load(api: Api, count: int) -> None:
    people = [
        {"id": i, "phone": f"+2782{i:07d}", "full_name": f"P{i}"} for i in range(1, count + 1)
    ]
    status, body = await api.put("/customers", people)
    assert status == 200, body


@pytest.mark.parametrize("stack", [1, 2, 4], indirect=True, ids=lambda n: f"{n}-senders")
async def test_rate_limit_holds_across_senders(stack: Stack, api: Api, sandbox: Api) -> None:
    count = 6 * RATE
    await api.put("/config/sms", sandbox_sms_config(stack.sandbox_url, rate_per_second=RATE))
    await _load(api, count)
    status, campaign = await api.post(
        "/campaigns", {"send_to": "sms", "message": "Hello {{ customer.full_name }}"}
    )
    assert status == 202
    done = await api.wait_campaign(campaign["id"], within=60)
    assert done["counts"] == {"sent": count}
    status, stats = await sandbox.get("/stats")
    span = stats["last_at"] - stats["first_at"]
    mean = (stats["received"] - 1) / span
    print(
        f"senders={len([n for n in stack.processes if n.startswith('sender')])}"
        f" busiest second={stats['max_per_second']} mean={mean:.1f}/s"
    )
    assert stats["received"] == count
    # Slots are exactly 1/rate apart; a slot may be used up to 10 ms late (README: burst).
    assert stats["max_per_second"] <= RATE + BURST
    assert mean >= 0.95 * RATE


async def test_no_credit_pauses_instead_of_failing(stack: Stack, api: Api, sandbox: Api) -> None:
    await api.put("/config/sms", sandbox_sms_config(stack.sandbox_url, max_connections=4))
    await _load(api, 300)
    await sandbox.put("/config", {"error_after": {"count": 100, "code": 25}})
    status, campaign = await api.post("/campaigns", {"send_to": "sms", "message": "Hi"})
    assert status == 202
    for _ in range(100):
        status, config = await api.get("/config/sms")
        if config["paused"]:
            break
        await asyncio.sleep(0.2)
    assert config["paused"] and "25" in config["paused"]["reason"], config
    await asyncio.sleep(2)  # nothing more goes out, nothing turns into an error
    status, stats = await sandbox.get("/stats")
    assert stats["received"] == 100
    status, view = await api.get(f"/campaigns/{campaign['id']}")
    assert view["status"] == "processing" and "error" not in view["counts"], view

    await sandbox.put("/config", {"error_after": None})
    status, body = await api.post("/config/sms/resume")
    assert status == 200 and body == {"resumed": True}
    done = await api.wait_campaign(campaign["id"], within=90)
    assert done["status"] == "sent" and done["counts"] == {"sent": 300}, done
    status, stats = await sandbox.get("/stats")
    assert stats["received"] == 300
    status, messages = await sandbox.get("/messages", params={"limit": 1000})
    assert len({m["msisdn"] for m in messages["items"]}) == 300
