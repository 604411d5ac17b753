"""BulkSMS delivery reports pushed to the callback move messages' delivery status."""

from __future__ import annotations

import aiohttp
import pytest

from demo.client import Api, sandbox_sms_config
from demo.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


async def test_reports_update_the_log(api: Api, stack: Stack) -> None:
    config = sandbox_sms_config(stack.sandbox_url, callback_secret="s3cret-cb")
    assert (await api.put("/config/sms", config))[0] == 200
    status, shown = await api.get("/config/sms")
    assert shown["callback_secret"] == "***"
    await api.put("/customers", [{"id": i, "phone": f"+2782000000{i}"} for i in (1, 2, 3)])
    status, campaign = await api.post("/campaigns", {"send_to": "sms", "message": "hi"})
    await api.wait_campaign(campaign["id"])
    status, log = await api.get("/logs/sms", params={"campaign_id": campaign["id"]})
    details = [(await api.get(f"/logs/sms/{row['id']}"))[1] for row in log["items"]]
    url = stack.api_url + "/callbacks/bulksms"
    codes = {"+27820000001": 11, "+27820000002": 53, "+27820000003": 32}
    async with aiohttp.ClientSession() as session:
        for detail in details:
            params = {
                "secret": "s3cret-cb",
                "msisdn": detail["recipient"].lstrip("+"),
                "batch_id": detail["batch_id"],
                "status": str(codes[detail["recipient"]]),
                "completed_time": "2026-11-25 10:00:00",
            }
            async with session.get(url, params=params) as response:
                assert response.status == 200 and await response.text() == "OK"
        async with session.get(url, params={**params, "secret": "wrong"}) as response:
            assert response.status == 403
        async with session.get(url, params={**params, "status": "x"}) as response:
            assert response.status == 422
    status, log = await api.get("/logs/sms", params={"campaign_id": campaign["id"]})
    by_number = {row["recipient"]: row["delivery_status"] for row in log["items"]}
    assert by_number == {
        "+27820000001": "delivered",
        "+27820000002": "expired",
        "+27820000003": "failed",
    }
