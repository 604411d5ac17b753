"""The shared rate limit across sender processes, and the gateway-wide pause."""

from __future__ import annotations

from typing import Any

import pytest

from demo.client import Api, sandbox_sms_config
from demo.stack import Stack
from shared import topology
from tests.support.broker import watching
from tests.support.eventually import eventually

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
    # No lower bound on the mean: on a busy machine it measures the machine. That slots are
    # exactly 1/rate apart is tested at fixed times (tests/integration/test_rate_limit_sql.py).


async def test_no_credit_pauses_instead_of_failing(stack: Stack, api: Api, sandbox: Api) -> None:
    await api.put("/config/sms", sandbox_sms_config(stack.sandbox_url, max_connections=4))
    await _load(api, 300)
    await sandbox.put("/config", {"error_after": {"count": 100, "code": 25}})
    status, campaign = await api.post("/campaigns", {"send_to": "sms", "message": "Hi"})
    assert status == 202

    async def paused() -> dict[str, Any] | None:
        status, config = await api.get("/config/sms")
        return config if config["paused"] else None

    config = await eventually(paused, timeout=20, what="the gateway paused")
    assert "25" in config["paused"]["reason"], config

    async with watching(stack.amqp_url) as queue:

        async def idle() -> dict[str, Any] | None:
            # Paused: no sender consumes the lane, and the calls in flight have been handed
            # back (no row sending), so nothing more can go out.
            if (await queue(topology.SMS.queue)).consumers:
                return None
            status, view = await api.get(f"/campaigns/{campaign['id']}")
            return None if "sending" in view["counts"] else view

        view = await eventually(idle, timeout=20, what="the lane idle while paused")
    status, stats = await sandbox.get("/stats")
    assert stats["received"] == 100
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
