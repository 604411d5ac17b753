"""Every screen of the product page, through the API, against the running services."""

from __future__ import annotations

from typing import Any

import pytest

from demo.client import Api, sandbox_sms_config
from demo.stack import Stack
from shared import topology
from tests.support.broker import watching
from tests.support.eventually import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

HELLO = "Hello {{ customer.full_name }}"


def person(i: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": i,
        "login": f"{i:06d}",
        "status": "active",
        "full_name": f"Person {i}",
        "phone": f"+2782{i:07d}",
        **fields,
    }


async def received(sandbox: Api) -> list[dict[str, Any]]:
    status, body = await sandbox.get("/messages", params={"limit": 10000})
    assert status == 200
    return list(body["items"])


async def campaign(api: Api, **request: Any) -> dict[str, Any]:
    status, body = await api.post("/campaigns", {"send_to": "sms", "message": HELLO, **request})
    assert status == 202, body
    return dict(body)


async def test_preview_counts_renders_and_segments(configured: Api) -> None:
    api = configured
    await api.put("/customers", [person(i) for i in range(1, 121)])
    status, body = await api.post(
        "/campaigns/preview",
        {
            "send_to": "sms",
            "message": "Привет {{ customer.full_name }}",
            "filters": {"login": "0000"},
        },
        params={"limit": 10},
    )
    assert status == 200, body
    assert body["recipients_total"] == 99  # logins 000001..000099 contain "0000"
    assert [r["id"] for r in body["recipients"]] == list(range(1, 11))
    assert set(body["recipients"][0]) == {"id", "login", "full_name", "email", "phone"}
    assert body["message"] == "Привет Person 1"
    assert (body["encoding"], body["characters"], body["parts"]) == ("UCS-2", 15, 1)
    status, body = await api.post("/campaigns/preview", {"send_to": "sms", "message": "x" * 161})
    assert (body["encoding"], body["parts"]) == ("GSM-7", 2)
    status, body = await api.post(
        "/campaigns/preview",
        {
            "send_to": "sms",
            "message": "{{ customer.full_name }}" + "€" * 320,
            "filters": {"include_ids": [1, 2]},
        },
    )
    assert status == 422 and "recipient 1" in body["detail"] and "recipient 2" in body["detail"]
    status, body = await api.post("/campaigns", {"send_to": "sms", "message": "€" * 400})
    assert status == 422 and body["errors"][0]["field"] == "message"


async def test_send_as_test_goes_out_and_is_logged(configured: Api, sandbox: Api) -> None:
    api = configured
    await api.put("/customers", [person(1)])
    status, body = await api.post(
        "/campaigns/test", {"send_to": "sms", "message": HELLO, "test_to": "+27 83 555 0101"}
    )
    assert status == 202, body
    [message] = await eventually(lambda: received(sandbox), what="the test SMS at the gateway")
    assert (message["msisdn"], message["message"]) == ("27835550101", "Hello Person 1")
    status, log = await api.get("/logs/sms", params={"type": "test"})
    assert log["total"] == 1 and log["items"][0]["recipient"] == "+27835550101"
    status, body = await api.post(
        "/campaigns/test", {"send_to": "sms", "message": HELLO, "test_to": "nonsense"}
    )
    assert status == 422 and body["errors"][0]["field"] == "test_to"
    status, body = await api.post("/config/sms/test", {"phone": "+27835550102"})
    assert status == 200 and body["status"] == "sent", body
    assert body["answer"].startswith("HTTP 200") is False and body["answer"].startswith("0|")
    assert body["message"].startswith("TEST SMS! TIME: ")


async def test_templates_ignore_leads_and_numbers(configured: Api, sandbox: Api) -> None:
    api = configured
    source = (
        "{% if customer.attributes.get('opt_out') %}=== IGNORE NOTIFICATION ==="
        "{% else %}Hi {{ customer.name }} from {{ company.name }}{% endif %}"
    )
    status, template = await api.post(
        "/templates", {"title": "Hi", "channel": "sms", "body": source}
    )
    assert status == 201, template
    status, bad = await api.post("/templates", {"title": "x", "channel": "sms", "body": "{{"})
    assert status == 422 and bad["errors"][0]["field"] == "body"
    await api.put("/config/company", {"name": "NetCo"})
    shared_number = "+27820000777"
    await api.put(
        "/leads",
        [
            person(1, attributes={"opt_out": True}),
            person(2, phone="082 000 0002, +27820000003"),  # local form: needs a region
            person(3, phone=shared_number),
            person(4, phone=shared_number),
            person(5, phone="not a number"),
            person(6),
        ],
    )
    done = await api.wait_campaign(
        (
            await campaign(
                api,
                recipient_type="lead",
                template_id=template["id"],
                message=None,
                filters={"exclude_ids": [6]},
            )
        )["id"]
    )
    assert done["status"] == "sent_with_error"
    assert done["recipients_total"] == 5
    assert done["counts"] == {"skipped": 1, "sent": 3, "error": 2}, done
    got = sorted((m["msisdn"], m["message"]) for m in await received(sandbox))
    assert got == sorted(
        [
            ("27820000003", "Hi Person 2 from NetCo"),
            ("27820000777", "Hi Person 3 from NetCo"),
            ("27820000777", "Hi Person 4 from NetCo"),
        ]
    )
    status, rows = await api.get(f"/campaigns/{done['id']}/recipients", params={"status": "error"})
    assert sorted(r["id"] for r in rows["items"]) == [2, 5]
    assert all("invalid phone number" in r["error"] for r in rows["items"])
    status, message = await api.get(f"/campaigns/{done['id']}/recipients/3/message")
    assert status == 200 and message["message"] == "Hi Person 3 from NetCo"
    status, _ = await api.delete(f"/templates/{template['id']}")
    assert status == 204
    assert (await api.get(f"/templates/{template['id']}"))[0] == 404


async def test_history_periods_cancel_and_remove(configured: Api, sandbox: Api) -> None:
    api = configured
    await api.put("/customers", [person(i) for i in range(1, 301)])
    await sandbox.put("/config", {"latency_ms": 200})
    await api.put(
        "/config/sms",
        sandbox_sms_config(
            (await api.get("/config/sms"))[1]["url"].split("/eapi")[0], max_connections=2
        ),
    )
    running = await campaign(api)
    await eventually(lambda: received(sandbox), what="the campaign sending")
    status, cancelled = await api.post(f"/campaigns/{running['id']}/cancel")
    assert status == 200 and cancelled["status"] == "cancelled", cancelled
    count_at_cancel = len(await received(sandbox))

    async def settled() -> dict[str, Any] | None:
        # No row new or sending: no gateway call can start any more, the last ones are done.
        status, view = await api.get(f"/campaigns/{running['id']}")
        return view if not {"new", "sending"} & set(view["counts"]) else None

    final = await eventually(settled, timeout=30, what="no message new or sending")
    sent_after = len(await received(sandbox))
    assert sent_after - count_at_cancel <= 2  # at most the calls already in flight
    assert final["counts"].get("cancelled", 0) >= 250
    assert sum(final["counts"].values()) == 300 and "new" not in final["counts"]
    assert (await api.post(f"/campaigns/{running['id']}/cancel"))[0] == 409

    status, history = await api.get("/campaigns", params={"period": "today"})
    assert history["total"] == 1 and history["items"][0]["title"] == HELLO
    status, history = await api.get("/campaigns", params={"period": "yesterday"})
    assert history["total"] == 0
    status, history = await api.get("/campaigns", params={"status": "cancelled"})
    assert history["total"] == 1
    status, bad = await api.get("/campaigns", params={"period": "last_century"})
    assert status == 422 and bad["errors"][0]["field"] == "period"
    status, bad = await api.get("/campaigns", params={"period": "custom", "from": "yesterday"})
    assert status == 422 and bad["errors"][0]["field"] == "from"

    assert (await api.delete(f"/campaigns/{running['id']}"))[0] == 200
    status, history = await api.get("/campaigns")
    assert history["total"] == 0
    status, history = await api.get("/campaigns", params={"status": "removed"})
    assert history["total"] == 1


async def test_pause_resume_and_disabled_gateway(
    configured: Api, sandbox: Api, stack: Stack
) -> None:
    api = configured
    await api.put("/customers", [person(i) for i in range(1, 201)])
    await api.put("/config/sms", sandbox_sms_config(stack.sandbox_url, enabled=False))
    held = await campaign(api)
    async with watching(stack.amqp_url) as queue:

        async def waiting_unconsumed() -> bool:
            # A disabled gateway: its lane has no consumer, every job waits in it.
            state = await queue(topology.SMS.queue)
            return state.ready == 200 and state.consumers == 0

        async def taken() -> bool:
            # Enabled again: the senders consume the lane and drop the paused campaign's jobs.
            state = await queue(topology.SMS.queue)
            return state.ready == 0 and state.consumers > 0

        await eventually(waiting_unconsumed, what="200 jobs waiting, unconsumed")
        assert await received(sandbox) == []
        status, paused = await api.post(f"/campaigns/{held['id']}/pause")
        assert status == 200 and paused["status"] == "paused"
        await api.put("/config/sms", sandbox_sms_config(stack.sandbox_url, enabled=True))
        await eventually(taken, what="the jobs taken by a sender")
    assert await received(sandbox) == []  # paused campaign: senders hold it
    status, view = await api.get(f"/campaigns/{held['id']}")
    assert view["counts"] == {"new": 200}, view
    status, resumed = await api.post(f"/campaigns/{held['id']}/resume")
    assert status == 200 and resumed["status"] == "processing", resumed
    done = await api.wait_campaign(held["id"])
    assert done["counts"] == {"sent": 200}
    got = await received(sandbox)
    assert len(got) == 200 and len({m["msisdn"] for m in got}) == 200
    assert (await api.post(f"/campaigns/{held['id']}/resume"))[0] == 409


async def test_expiry_marks_messages_expired(configured: Api, sandbox: Api, stack: Stack) -> None:
    api = configured
    await api.put("/customers", [person(i) for i in range(1, 4)])
    # 40 answers "temporarily unavailable": retried until expiry (30 s here) runs out.
    await sandbox.put("/config", {"error_code": 40})
    await api.put("/config/sms", sandbox_sms_config(stack.sandbox_url, expiry_days=30 / 86400))
    done = await api.wait_campaign((await campaign(api))["id"], within=90)
    assert done["status"] == "sent_with_error" and done["counts"] == {"expired": 3}, done
    _, log = await api.get("/logs/sms", params={"status": "expired"})
    assert log["total"] == 3
    _, detail = await api.get(f"/logs/sms/{log['items'][0]['id']}")
    assert detail["attempts"] >= 2 and "40" in detail["error"]
    assert "sandbox-secret" not in str(detail) and "password=***" in detail["gateway_request"]
