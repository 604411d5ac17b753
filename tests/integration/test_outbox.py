"""The transactional outbox relay (services/campaign/outbox.relay_once), real Postgres + broker."""

from __future__ import annotations

import asyncio

import aio_pika
import pytest

from services.campaign.outbox import relay as outbox
from services.campaign.outbox import repo as outbox_repo
from shared import topology
from shared.db import Pool
from shared.schemas import ResolveCampaign
from tests.integration.conftest import Broker
from tests.integration.helpers import drain, queue_count

pytestmark = pytest.mark.timeout(60)


def event(campaign_id: int) -> bytes:
    return ResolveCampaign(campaign_id=campaign_id).model_dump_json().encode()


async def add_events(
    pool: Pool, campaign_ids: range, routing_key: str = topology.RK_RESOLVE
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for campaign_id in campaign_ids:
            await outbox_repo.add_outbox(conn, routing_key, event(campaign_id))


async def pending(pool: Pool) -> list[bytes]:
    return [r["body"] for r in await pool.fetch("SELECT body FROM outbox ORDER BY id")]


async def test_a_row_is_published_to_the_resolve_queue_then_deleted(
    herald_pool: Pool, broker: Broker
) -> None:
    pool = herald_pool
    await add_events(pool, range(7, 8))

    assert await outbox.relay_once(pool, broker.exchange) == 1

    assert await pending(pool) == []
    (relayed,) = await drain(broker.channel, topology.RESOLVE_QUEUE)
    assert relayed.body == event(7)
    assert relayed.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert relayed.content_type == "application/json"
    assert await outbox.relay_once(pool, broker.exchange) == 0
    assert await queue_count(broker.channel, topology.RESOLVE_QUEUE) == 0


async def test_rows_stay_when_publishing_fails(herald_pool: Pool, broker: Broker) -> None:
    pool = herald_pool
    await add_events(pool, range(1, 4))
    channel, exchange = await broker.channel_with(prefetch=0)
    await channel.close()

    assert await outbox.relay_once(pool, exchange) == 0  # nothing confirmed, nothing deleted
    assert await pending(pool) == [event(1), event(2), event(3)]
    assert await queue_count(broker.channel, topology.RESOLVE_QUEUE) == 0

    # An event the broker cannot route (mandatory publish returned) stays, and does not
    # hold back the others.
    await add_events(pool, range(4, 5), routing_key="nowhere")
    assert await outbox.relay_once(pool, broker.exchange) == 0
    assert len(await pending(pool)) == 1
    relayed = await drain(broker.channel, topology.RESOLVE_QUEUE)
    assert {m.body for m in relayed} == {event(1), event(2), event(3)}


async def test_concurrent_relays_publish_every_row_once_in_batches(
    herald_pool: Pool, broker: Broker
) -> None:
    pool = herald_pool
    total = 2 * outbox.BATCH + 50
    await add_events(pool, range(1, total + 1))

    async def relay_until_empty() -> list[int]:
        counts = []
        while count := await outbox.relay_once(pool, broker.exchange):
            counts.append(count)
        return counts

    first, second = await asyncio.gather(relay_until_empty(), relay_until_empty())

    assert sum(first) + sum(second) == total
    assert max(first + second) == outbox.BATCH
    assert await pending(pool) == []
    relayed = await drain(broker.channel, topology.RESOLVE_QUEUE)
    assert sorted(ResolveCampaign.model_validate_json(m.body).campaign_id for m in relayed) == list(
        range(1, total + 1)
    )
