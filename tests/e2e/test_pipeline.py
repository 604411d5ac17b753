"""One SMS campaign through the four services, the broker, the database and the sandbox."""

from __future__ import annotations

import random
from typing import Any

import pytest

from demo.client import Api
from demo.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

NAMES = ["Zoë Ndlovu", "Søren Kierkegaard", "Иван Петров", "李小龍", "Thandi Mokoena", "José Ñúñez"]


def directory(count: int = 1000, seed: int = 7) -> list[dict[str, Any]]:
    """Varied customers: two numbers, none, invalid; statuses, partners, tariffs mixed."""
    rng = random.Random(seed)
    people = []
    for i in range(1, count + 1):
        if i % 10 == 0:
            phone = ""
        elif i % 7 == 0:
            phone = f"+2782{i:07d}, +2783{i:07d}"
        elif i % 97 == 0:
            phone = "12-34"
        else:
            phone = f"+2782{i:07d}"
        people.append(
            {
                "id": i,
                "login": f"{i:06d}",
                "status": rng.choice(["new", "active", "active", "inactive", "blocked"]),
                "full_name": f"{NAMES[i % len(NAMES)]} {i}",
                "email": f"user{i}@example.net",
                "phone": phone,
                "category": "company" if i % 5 == 0 else "private",
                "location_id": 1 + i % 3,
                "partner_id": 1 + i % 2,
                "billing_type": "prepaid" if i % 4 == 0 else "recurring",
                "services": [{"type": "internet", "tariff_id": 10 + i % 4}],
                "attributes": {"balance": round(rng.uniform(-50, 500), 2)},
            }
        )
    return people


def expected(people: list[dict[str, Any]], predicate: Any) -> dict[str, str]:
    """number -> text the gateway must receive, for matching people with valid numbers."""
    wanted: dict[str, str] = {}
    for person in people:
        if not predicate(person):
            continue
        for number in [n.strip() for n in person["phone"].split(",") if n.strip()]:
            if number.startswith("+"):
                wanted[number.lstrip("+")] = (
                    f"Dear {person['full_name']}, your balance is {person['attributes']['balance']}"
                )
    return wanted


MESSAGE = "Dear {{ customer.full_name }}, your balance is {{ customer.attributes.balance }}"


async def _all_messages(sandbox: Api) -> list[dict[str, Any]]:
    status, body = await sandbox.get("/messages", params={"limit": 100000})
    assert status == 200
    return list(body["items"])


async def test_filtered_campaign_reaches_exactly_the_expected_numbers(
    configured: Api, sandbox: Api, stack: Stack
) -> None:
    api = configured
    people = directory()
    status, body = await api.put("/customers", people)
    assert status == 200 and body == {"upserted": 1000}

    filters = {
        "status": ["active", "new"],
        "partner_ids": [1],
        "location_ids": [1, 2],
        "phone": "+",
    }
    status, campaign = await api.post(
        "/campaigns", {"filters": filters, "send_to": "sms", "message": MESSAGE}
    )
    assert status == 202, campaign
    assert campaign["status"] == "new"
    done = await api.wait_campaign(campaign["id"], within=120)

    def matches(p: dict[str, Any]) -> bool:
        return (
            p["status"] in ("active", "new")
            and p["partner_id"] == 1
            and p["location_id"] in (1, 2)
            and "+" in p["phone"]
        )

    wanted = expected(people, matches)
    received = await _all_messages(sandbox)
    got = [(m["msisdn"], m["message"]) for m in received]
    assert len(got) == len(wanted), "one SMS per expected number, no more"
    assert dict(got) == wanted
    matching_people = [p for p in people if matches(p)]
    assert done["status"] == "sent", done
    assert done["recipients_total"] == len(matching_people)
    assert done["total"] == len(wanted)
    assert done["counts"] == {"sent": len(wanted)}

    status, log = await api.get("/logs/sms", params={"campaign_id": campaign["id"], "limit": 1000})
    assert status == 200 and log["total"] == len(wanted)
    assert {row["status"] for row in log["items"]} == {"sent"}
    assert {row["recipient"].lstrip("+") for row in log["items"]} == set(wanted)


async def test_gateway_errors_and_missing_numbers_are_logged_per_recipient(
    configured: Api, sandbox: Api, stack: Stack
) -> None:
    api = configured
    people = directory(200)
    await api.put("/customers", people)
    rejected = {"27820000001", "27820000011", "27820000013"}
    status, _ = await sandbox.put("/config", {"error_for": {n: 24 for n in rejected}})
    assert status == 200
    status, campaign = await api.post(
        "/campaigns",
        {"filters": {"include_ids": list(range(1, 21))}, "send_to": "sms", "message": MESSAGE},
    )
    assert status == 202, campaign
    done = await api.wait_campaign(campaign["id"], within=60)
    assert done["status"] == "sent_with_error"
    status, log = await api.get("/logs/sms", params={"campaign_id": campaign["id"], "limit": 100})
    rows = {(row["customer_id"], row["recipient"]): row for row in log["items"]}
    for number in rejected:
        row = next(r for (cid, to), r in rows.items() if to == "+" + number)
        assert row["status"] == "error" and "24" in row["error"], row
    no_phone = [r for (cid, to), r in rows.items() if cid in (10, 20)]
    assert [r["error"] for r in no_phone] == ["no phone number", "no phone number"]
    sent = [r for r in rows.values() if r["status"] == "sent"]
    received = await _all_messages(sandbox)
    assert len(received) == len(sent)
    assert done["counts"]["error"] == len(rows) - len(sent)
