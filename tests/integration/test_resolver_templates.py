"""A hostile template in the resolver: its campaign fails with a reason, the others resolve."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from services.resolver.handlers import Resolver
from shared import amqp, topology
from shared.db import Pool
from shared.render_pool import Limits, RenderPool
from shared.schemas import ResolveCampaign
from shared.settings import Settings
from tests.integration.conftest import Broker
from tests.integration.helpers import (
    add_people,
    campaign,
    configure_sms,
    consuming,
    create_campaign,
    ledger,
    person,
    queue_count,
)
from tests.support.eventually import eventually

pytestmark = pytest.mark.timeout(60)

# Quadratic list concatenation: no bound inside the engine stops it, only the worker's budget.
HOSTILE = "{{ ([[1]*10000]*10000)|sum(start=[])|length }}"
BUDGET = 0.5


@pytest.fixture
async def renderer() -> AsyncIterator[RenderPool]:
    pool = RenderPool(Limits(workers=1, timeout_seconds=BUDGET))
    try:
        yield pool
    finally:
        await pool.close()


async def test_a_hostile_template_fails_its_campaign_and_the_next_one_resolves(
    herald_pool: Pool, broker: Broker, renderer: RenderPool
) -> None:
    pool = herald_pool
    await configure_sms(pool)
    await add_people(pool, [person(1), person(2), person(3)])
    hostile = await create_campaign(pool, message=HOSTILE)
    normal = await create_campaign(pool, message="Hello {{ customer.name }}")
    channel, exchange = await broker.channel_with(prefetch=1)  # as the resolver process
    settings = Settings(resolver_batch_size=2, resolver_render_timeout_seconds=BUDGET)
    resolver = Resolver(settings, pool, channel, exchange, renderer)
    queue = await topology.get_queue(channel, topology.RESOLVE_QUEUE)

    began = time.monotonic()
    async with consuming(queue, resolver.on_message):
        for campaign_id in (hostile, normal):
            await amqp.publish(
                broker.exchange, topology.RK_RESOLVE, ResolveCampaign(campaign_id=campaign_id)
            )

        async def resolved() -> bool:
            return (await campaign(pool, normal))["resolved_at"] is not None

        await eventually(resolved, timeout=20, what="the normal campaign resolved")
    print(f"both campaigns resolved in {time.monotonic() - began:.2f} s")

    failed = await campaign(pool, hostile)
    assert failed["status"] == "failed"
    assert failed["failed_reason"] == (
        f"RenderAborted: rendering took longer than {BUDGET:g} s; it was stopped"
    )
    assert await ledger(pool, hostile) == []  # stopped before its first batch was stored

    rows = await ledger(pool, normal)
    assert [(r["status"], r["text"]) for r in rows] == [
        ("new", f"Hello Person {n}") for n in (1, 2, 3)
    ]
    await channel.close()  # nothing unacked: the hostile event was done with, not retried
    assert await queue_count(broker.channel, topology.RESOLVE_QUEUE) == 0
    assert await queue_count(broker.channel, topology.SMS.queue) == 3
