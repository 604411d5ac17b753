"""Gateways reach only what HERALD_OUTBOUND_ALLOW lets them, checked at connect time.

The stack allows 127.0.0.1, ::1 and localhost (where the sandbox listens). A gateway URL on
127.0.0.2 (loopback, so nothing leaves the machine) is the same sandbox by another address:
the sender must refuse it before connecting and pause the gateway with the reason.
"""

from __future__ import annotations

import pytest

from demo.client import Api, sandbox_sms_config
from demo.stack import Stack
from tests.support.eventually import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


async def test_a_gateway_outside_the_allow_list_pauses_and_receives_nothing(
    stack: Stack, api: Api, sandbox: Api
) -> None:
    elsewhere = stack.sandbox_url.replace("127.0.0.1", "127.0.0.2")
    status, body = await api.put("/config/sms", sandbox_sms_config(elsewhere))
    assert status == 200, body
    status, _ = await api.put("/customers", [{"id": 1, "phone": "+27820000001"}])
    assert status == 200
    status, campaign = await api.post("/campaigns", {"send_to": "sms", "message": "Hi"})
    assert status == 202, campaign

    async def paused() -> dict[str, object] | None:
        _, config = await api.get("/config/sms")
        return config["paused"]  # type: ignore[no-any-return]

    pause = await eventually(paused, timeout=30, what="the gateway paused")
    assert "outbound policy: 127.0.0.2" in str(pause), pause
    _, stats = await sandbox.get("/stats")
    assert stats["received"] == 0

    # The operator's fix is a new configuration at an allowed address: the campaign goes out.
    status, _ = await api.put("/config/sms", sandbox_sms_config(stack.sandbox_url))
    assert status == 200
    done = await api.wait_campaign(campaign["id"], within=60)
    assert done["counts"] == {"sent": 1}, done


async def test_the_test_send_refuses_link_local_without_connecting(api: Api) -> None:
    await api.put("/config/sms", sandbox_sms_config("http://169.254.169.254"))
    status, body = await api.post("/config/sms/test", {"phone": "+27820000001"})
    assert status == 200 and body["status"] == "error", (status, body)
    assert body["http_status"] is None and "cloud metadata" in body["reason"], body
