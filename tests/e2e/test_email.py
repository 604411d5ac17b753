"""Email and customer-portal campaigns through the whole pipeline, with a real SMTP server."""

from __future__ import annotations

import base64
from collections import Counter
from typing import Any

import aiohttp
import pytest

from demo.client import Api
from demo.stack import Stack
from tests.support.smtp import Recorder, smtp_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

NAMES = ["Zoë Ndlovu", "Иван Петров", "李小龍", "Søren Ås", "José Ñúñez"]
BODY = "<p>Dear {{ customer.full_name }},</p><p>Your balance: {{ customer.attributes.balance }}</p>"


def people(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "full_name": f"{NAMES[i % len(NAMES)]} {i}",
            "email": f"user{i}@example.net",
            "billing_email": f"billing{i}@example.net" if i % 3 == 0 else "",
            "attributes": {"balance": i * 10},
        }
        for i in range(1, count + 1)
    ]


async def configure(api: Api, port: int, **overrides: Any) -> None:
    config = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from_address": "billing@isp.example",
        "from_name": "Интернет ISP",
        **overrides,
    }
    status, body = await api.put("/config/email", config)
    assert status == 200, body


async def upload(stack: Stack, data: bytes, name: str) -> int:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {stack.token}"}) as session,
        session.post(stack.api_url + "/attachments", data=form) as response,
    ):
        body = await response.json()
        assert response.status == 201, body
        return int(body["id"])


async def test_300_customers_get_300_well_formed_emails(api: Api, stack: Stack) -> None:
    with smtp_server() as (port, recorder):
        await configure(api, port)
        await api.put("/customers", people(300))
        attachment = await upload(stack, b"%PDF-1.4\n% terms\n", "terms ü.pdf")
        status, preview = await api.post(
            "/campaigns/preview",
            {
                "send_to": "email",
                "subject": "Счёт — {{ customer.full_name }}",
                "message": BODY,
                "attachments": [attachment],
            },
        )
        assert status == 200, preview
        assert preview["subject"] == "Счёт — Иван Петров 1"
        assert preview["attachments"][0]["content_type"] == "application/pdf"
        status, campaign = await api.post(
            "/campaigns",
            {
                "send_to": "email",
                "subject": "Счёт — {{ customer.full_name }}",
                "message": BODY,
                "attachments": [attachment],
            },
        )
        assert status == 202, campaign
        done = await api.wait_campaign(campaign["id"], within=120)
        assert done["status"] == "sent" and done["counts"] == {"sent": 300}, done
        received = list(recorder.messages)
    assert len(received) == 300
    assert Counter(r.recipients[0] for r in received) == Counter(
        f"user{i}@example.net" for i in range(1, 301)
    )
    for item in received:
        message = item.parsed()
        i = int(item.recipients[0].removeprefix("user").split("@")[0])
        name = f"{NAMES[i % len(NAMES)]} {i}"
        assert str(message["Subject"]) == f"Счёт — {name}"
        assert message["From"].addresses[0].display_name == "Интернет ISP"
        assert message["To"] == f"user{i}@example.net"
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        assert text is not None and html is not None
        plain = text.get_content().replace("\r\n", "\n").strip()  # canonical CRLF in MIME
        assert plain == f"Dear {name},\n\nYour balance: {i * 10}"
        assert f"<p>Dear {name},</p>" in html.get_content()
        [pdf] = list(message.iter_attachments())
        assert pdf.get_filename() == "terms ü.pdf" and pdf.get_content().startswith(b"%PDF")
    assert len({r.parsed()["Message-ID"] for r in received}) == 300
    status, log = await api.get("/logs/email", params={"campaign_id": campaign["id"]})
    assert log["total"] == 300 and {row["status"] for row in log["items"]} == {"sent"}


async def test_billing_email_switch(api: Api) -> None:
    with smtp_server() as (port, recorder):
        await configure(api, port)
        await api.put("/customers", people(30))
        status, campaign = await api.post(
            "/campaigns",
            {
                "send_to": "email",
                "subject": "Invoice",
                "message": BODY,
                "send_to_billing_email": True,
            },
        )
        done = await api.wait_campaign(campaign["id"])
        got = sorted(r.recipients[0] for r in recorder.messages)
    assert got == sorted(f"billing{i}@example.net" for i in range(3, 31, 3))
    assert done["counts"] == {"sent": 10, "skipped": 20}


async def test_temporary_and_permanent_smtp_failures(api: Api) -> None:
    recorder = Recorder(defer_first=15, reject={"user4@example.net", "user7@example.net"})
    with smtp_server(recorder) as (port, _):
        await configure(api, port)
        await api.put("/customers", people(40))
        status, campaign = await api.post(
            "/campaigns", {"send_to": "email", "subject": "Hi", "message": BODY}
        )
        done = await api.wait_campaign(campaign["id"], within=120)
        got = Counter(r.recipients[0] for r in recorder.messages)
    assert recorder.deferred == 15
    assert done["counts"] == {"sent": 38, "error": 2}, done
    assert all(n == 1 for n in got.values()) and len(got) == 38
    status, log = await api.get(
        "/logs/email", params={"campaign_id": campaign["id"], "status": "error"}
    )
    assert sorted(row["recipient"] for row in log["items"]) == [
        "user4@example.net",
        "user7@example.net",
    ]
    assert all("550" in row["error"] for row in log["items"])


async def test_portal_and_portal_email(api: Api) -> None:
    with smtp_server() as (port, recorder):
        await configure(api, port)
        await api.put("/customers", people(5))
        status, portal = await api.post(
            "/campaigns", {"send_to": "portal", "subject": "Maintenance", "message": BODY}
        )
        assert status == 202, portal
        await api.wait_campaign(portal["id"])
        status, both = await api.post(
            "/campaigns",
            {"send_to": "portal_email", "subject": "Outage {{ customer.id }}", "message": BODY},
        )
        done = await api.wait_campaign(both["id"])
        assert done["counts"] == {"sent": 10}
        assert len(recorder.messages) == 5
    status, inbox = await api.get("/portal/customers/2/messages")
    assert inbox["total"] == 2
    assert [m["subject"] for m in inbox["items"]] == ["Outage 2", "Maintenance"]
    assert inbox["items"][0]["read_at"] is None
    status, read = await api.post(f"/portal/customers/2/messages/{inbox['items'][0]['id']}/read")
    assert status == 200 and read["read_at"] is not None
    status, history = await api.get("/campaigns")
    assert {row["send_to"] for row in history["items"]} == {"portal", "portal_email"}


async def test_financial_documents(api: Api) -> None:
    pdf = base64.b64encode(b"%PDF-1.4 invoice").decode()
    with smtp_server() as (port, recorder):
        await configure(api, port)
        await api.put("/customers", people(3))
        status, body = await api.put(
            "/documents",
            [
                {
                    "id": 1,
                    "customer_id": 1,
                    "type": "invoice",
                    "number": "INV-1",
                    "date": "2026-11-01",
                    "amount": "12.50",
                    "status": "unpaid",
                    "pdf": pdf,
                },
                {
                    "id": 2,
                    "customer_id": 1,
                    "type": "invoice",
                    "number": "INV-0",
                    "date": "2026-10-01",
                    "amount": "9.00",
                    "status": "paid",
                    "pdf": pdf,
                },
                {
                    "id": 3,
                    "customer_id": 2,
                    "type": "invoice",
                    "number": "INV-2",
                    "date": "2026-11-01",
                    "amount": "1.00",
                    "status": "paid",
                    "pdf": pdf,
                },
            ],
        )
        assert status == 200, body
        status, bad = await api.put(
            "/documents",
            [
                {
                    "id": 9,
                    "customer_id": 1,
                    "type": "invoice",
                    "number": "x",
                    "date": "2026-11-01",
                    "amount": "1",
                    "pdf": "!!",
                }
            ],
        )
        assert status == 422 and bad["errors"][0]["field"] == "[0].pdf"
        status, campaign = await api.post(
            "/campaigns",
            {
                "send_to": "email",
                "subject": "Your invoices",
                "message": BODY,
                "attach_financial_documents": ["invoice"],
                "only_if_financial_documents_exist": True,
            },
        )
        done = await api.wait_campaign(campaign["id"])
        [message] = [r.parsed() for r in recorder.messages]
    assert done["counts"] == {"sent": 1, "skipped": 2}
    assert [a.get_filename() for a in message.iter_attachments()] == ["invoice-INV-1.pdf"]


@pytest.mark.parametrize("stack", [2], indirect=True, ids=["2-senders"])
async def test_limit_per_hour_holds_across_senders(api: Api, stack: Stack) -> None:
    per_second = 10
    with smtp_server() as (port, recorder):
        # 36,000 an hour is 10 a second: the same limiter, scaled down in time.
        await configure(api, port, limit_per_hour=per_second * 3600)
        await api.put("/customers", people(60))
        status, campaign = await api.post(
            "/campaigns", {"send_to": "email", "subject": "Hi", "message": BODY}
        )
        await api.wait_campaign(campaign["id"], within=60)
        times = sorted(r.at for r in recorder.messages)
    assert len(times) == 60
    busiest = max(sum(1 for t in times if start <= t < start + 1) for start in times)
    assert busiest <= per_second + 1, busiest
