"""``python -m demo``: the whole stack, sample customers, and one campaign to watch."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

from demo.client import Api, sandbox_sms_config
from demo.stack import Stack

FIRST = ["Thandi", "Sipho", "Zoë", "Johan", "Aisha", "Lerato", "Pieter", "Naledi", "Ахмед", "Léa"]
LAST = ["Mokoena", "van der Merwe", "Naidoo", "Dlamini", "Botha", "Nkosi", "Müller", "Ōkubo"]
MESSAGE = (
    "Dear {{ customer.full_name }}, your balance is {{ customer.attributes.balance }} ZAR."
    " {{ company.name }}"
)


PARTNERS = {1: "Herald Fibre", 2: "Karoo Wireless"}
LOCATIONS = {1: "Cape Town", 2: "Johannesburg", 3: "Durban"}
TARIFFS = {10: "Fibre 25 Mbps", 11: "Fibre 50 Mbps", 12: "Fibre 100 Mbps", 13: "LTE 20 GB"}


def sample_names() -> dict[str, list[dict[str, Any]]]:
    """The reference names the sample customers' ids point to, per collection."""
    return {
        collection: [{"id": i, "name": name} for i, name in names.items()]
        for collection, names in (
            ("partners", PARTNERS),
            ("locations", LOCATIONS),
            ("tariffs", TARIFFS),
        )
    }


def sample_customers(count: int) -> list[dict[str, Any]]:
    """Customers with realistic variety: statuses, partners, one or two numbers, none."""
    rng = random.Random(42)
    people = []
    for i in range(1, count + 1):
        phones = [f"+2782{rng.randrange(10**7):07d}" for _ in range(2 if i % 9 == 0 else 1)]
        people.append(
            {
                "id": i,
                "login": f"{i:06d}",
                "status": rng.choice(["active", "active", "active", "new", "blocked"]),
                "full_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                "email": f"customer{i}@example.net",
                "phone": "" if i % 25 == 0 else ", ".join(phones),
                "category": "company" if i % 6 == 0 else "private",
                "location_id": rng.randint(1, 3),
                "partner_id": rng.randint(1, 2),
                "billing_type": "prepaid" if i % 5 == 0 else "recurring",
                "services": [{"type": "internet", "tariff_id": rng.randint(10, 13)}],
                "attributes": {"balance": round(rng.uniform(-200, 900), 2)},
            }
        )
    return people


async def seed(api: Api, stack: Stack, customers: int) -> None:
    """The sandbox gateway (100 ms per request), company, names, customers, a template."""
    status, body = await api.put(
        "/config/sms", sandbox_sms_config(stack.sandbox_url, max_connections=4)
    )
    assert status == 200, body
    # A gateway that takes 100 ms per request, so that progress can be watched.
    sandbox = Api(stack.sandbox_url + "/_sandbox", None)
    await sandbox.put("/config", {"latency_ms": 100})
    await sandbox.close()
    status, body = await api.put("/config/company", {"name": "Herald Demo ISP"})
    assert status == 200, body
    for collection, names in sample_names().items():
        status, body = await api.put(f"/{collection}", names)
        assert status == 200, body
    status, body = await api.put("/customers", sample_customers(customers))
    assert status == 200, body
    print(f"loaded {body['upserted']} sample customers", flush=True)
    template = {"title": "Balance reminder", "channel": "sms", "body": MESSAGE}
    status, body = await api.get("/templates", params={"channel": "sms", "limit": "1000"})
    if not any(t["title"] == template["title"] for t in body["items"]):  # once per database
        status, body = await api.post("/templates", template)
        assert status == 201, body


def console_address(stack: Stack) -> str:
    """Where the operator console is served."""
    return stack.api_url.removesuffix("/api/v1") + "/"


async def run_demo(stack: Stack, customers: int) -> int:
    api = Api(stack.api_url, stack.token)
    try:
        await seed(api, stack, customers)
        request = {
            "filters": {"status": ["active"], "partner_ids": [1]},
            "send_to": "sms",
            "message": MESSAGE,
        }
        status, campaign = await api.post("/campaigns", request)
        assert status == 202, campaign
        print(f"campaign {campaign['id']} created: active customers of partner 1", flush=True)
        while True:
            status, campaign = await api.get(f"/campaigns/{campaign['id']}")
            counts = ", ".join(f"{k} {v}" for k, v in sorted(campaign["counts"].items()))
            print(
                f"  campaign {campaign['id']}: {campaign['status']:<16}"
                f" recipients {campaign['recipients_total']}, messages {campaign['total']}"
                f" ({counts or 'resolving'})",
                flush=True,
            )
            if campaign["status"] in ("sent", "sent_with_error", "cancelled"):
                return int(campaign["id"])
            await asyncio.sleep(0.5)
    finally:
        await api.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--senders", type=int, default=2)
    parser.add_argument("--exit", action="store_true", help="stop once the campaign is done")
    args = parser.parse_args()
    stack = Stack(
        database_url=os.environ.get(
            "HERALD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/herald_demo"
        ),
        amqp_url=os.environ.get("HERALD_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
        log_dir=Path(".demo/logs"),
        token=os.environ.get("HERALD_API_TOKEN") or secrets.token_urlsafe(32),
        api_port=int(os.environ.get("HERALD_HTTP_PORT", "8080")),
    )
    print(f"starting sandbox gateway, campaign API, resolver, logger, {args.senders} senders")
    print(f"process logs: {stack.log_dir}/")
    try:
        stack.start_all(senders=args.senders)
        print(
            f"\nOperator console: {console_address(stack)}  (sign in with the API token"
            f" {stack.token}; watch the campaign under Mass sending -> History)\n",
            flush=True,
        )
        campaign_id = asyncio.run(run_demo(stack, args.customers))
        auth = f"-H 'Authorization: Bearer {stack.token}'"
        print(
            f"\nOperator console: {console_address(stack)}  (API token: {stack.token})\n"
            f"Herald API: {stack.api_url}  (Authorization: Bearer {stack.token})\n"
            f"  curl {auth} {stack.api_url}/campaigns/{campaign_id}\n"
            f"  curl {auth} '{stack.api_url}/logs/sms?limit=5'\n"
            f"Sandbox gateway: {stack.sandbox_url}/_sandbox/messages?limit=5",
            flush=True,
        )
        if not args.exit:
            print("running; Ctrl-C stops everything", flush=True)
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except KeyboardInterrupt:
        pass
    finally:
        codes = stack.stop_all()
        print(f"stopped: {codes}", flush=True)
    if any(code not in (0, None) for code in codes.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
