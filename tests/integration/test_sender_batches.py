"""The sender's micro-batches against the in-process sandbox: claims and outcomes in bulk,
and BulkSMS ``send_batch`` for first attempts."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from demo.client import sandbox_sms_config
from sandbox.state import State
from services.sender.handlers import Sender
from services.sender.sms import SmsDriver
from shared import amqp, topology
from shared.db import Pool
from shared.models import SmsConfig
from shared.schemas import Outcome, SmsJob, parse_outcomes
from tests.integration.conftest import Broker
from tests.integration.helpers import (
    HookedExchange,
    add_message,
    consuming,
    drain,
    message,
    phone,
    processing_campaign,
    queue_count,
)
from tests.support.eventually import eventually

COUNT = 40
TOMORROW = datetime.now(UTC) + timedelta(days=1)


@contextlib.asynccontextmanager
async def _sender(
    pool: Pool,
    broker: Broker,
    url: str,
    before_publish: Callable[[int], Awaitable[None]] | None = None,
    **config: Any,
) -> AsyncIterator[Sender]:
    """A sender on its own channel; closing the channel afterwards hands back whatever it
    left unacked, so the queue's count tells."""
    channel, exchange = await broker.channel_with(prefetch=100)
    if before_publish is not None:
        exchange = HookedExchange(exchange, before_publish).exchange
    sms = SmsDriver(pool)
    await sms.apply_config(SmsConfig.model_validate(sandbox_sms_config(url, **config)))
    sender = Sender(pool, channel, exchange, {"sms": sms})
    try:
        yield sender
    finally:
        await sender.close(seconds=5)
        await sms.close()
        await channel.close()


@pytest.fixture
async def batching(
    herald_pool: Pool, broker: Broker, gateway: tuple[str, State]
) -> AsyncIterator[Sender]:
    async with _sender(herald_pool, broker, gateway[0], batch_size=100) as sender:
        yield sender


async def _jobs(pool: Pool, broker: Broker, count: int) -> list[int]:
    campaign_id = await processing_campaign(pool)
    ids = [await add_message(pool, campaign_id, n) for n in range(1, count + 1)]
    for n, message_id in enumerate(ids, start=1):
        job = SmsJob(
            message_id=message_id,
            campaign_id=campaign_id,
            to=phone(n),
            text=f"hello {n}",
            expires_at=TOMORROW,
        )
        await amqp.publish(broker.exchange, topology.SMS.routing_key, job)
    return ids


async def _outcomes(broker: Broker, count: int, events: list[int] | None = None) -> list[Outcome]:
    """The outcomes of ``count`` messages; ``events`` gets each event's size."""
    outcomes: list[Outcome] = []

    async def all_there() -> bool:
        for event in await drain(broker.channel, topology.OUTCOME_QUEUE):
            outcomes.extend(parse_outcomes(event.body))
            if events is not None:
                events.append(len(parse_outcomes(event.body)))
        return len(outcomes) >= count

    await eventually(all_there, timeout=30, what=f"{count} outcomes")
    return outcomes


async def test_jobs_are_claimed_and_reported_in_batches(
    herald_pool: Pool, broker: Broker, gateway: tuple[str, State]
) -> None:
    ids = await _jobs(herald_pool, broker, COUNT)
    async with _sender(herald_pool, broker, gateway[0]) as sender:
        queue = await topology.get_queue(sender.amqp_channel, topology.SMS.queue)
        async with consuming(queue, functools.partial(sender.on_job, topology.SMS)):
            events: list[int] = []
            outcomes = await _outcomes(broker, COUNT, events)
    assert sorted(o.message_id for o in outcomes) == ids
    assert {(o.status, o.attempt) for o in outcomes} == {("sent", 1)}
    # The jobs were queued before the sender started: they come out in a few events.
    assert len(events) < COUNT // 2, events
    # One SMS per message through send_sms, each with its own stop_dup_id.
    received = gateway[1].messages
    assert sorted(m.stop_dup_id or 0 for m in received) == ids
    assert {m.endpoint for m in received} == {"send_sms"}
    assert await queue_count(broker.channel, topology.SMS.queue) == 0


async def test_first_attempts_go_out_in_send_batch_requests(
    herald_pool: Pool, broker: Broker, gateway: tuple[str, State], batching: Sender
) -> None:
    ids = await _jobs(herald_pool, broker, COUNT)
    queue = await topology.get_queue(batching.amqp_channel, topology.SMS.queue)
    async with consuming(queue, functools.partial(batching.on_job, topology.SMS)):
        outcomes = await _outcomes(broker, COUNT)
    assert sorted(o.message_id for o in outcomes) == ids
    assert {o.status for o in outcomes} == {"sent"}
    received = gateway[1].messages
    assert sorted(m.msisdn for m in received) == sorted(phone(n)[1:] for n in range(1, COUNT + 1))
    batched = [m for m in received if m.endpoint == "send_batch"]
    assert len(batched) >= COUNT // 2  # a first lone job may go on its own
    by_batch: dict[int, list[int]] = {}
    for m in batched:
        by_batch.setdefault(m.batch_id, []).append(m.stop_dup_id or 0)
    for dup_ids in by_batch.values():
        # The batch's stop_dup_id is the smallest message id in it.
        assert len(set(dup_ids)) == 1
    in_batches = [o for o in outcomes if "send_batch" in (o.gateway_request or "")]
    assert len(in_batches) == len(batched)
    assert all(o.batch_id and o.attempt == 1 for o in in_batches)


async def test_a_refused_batch_is_retried_message_by_message(
    herald_pool: Pool, broker: Broker, gateway: tuple[str, State], batching: Sender
) -> None:
    # One bad number makes the gateway refuse the whole submission (BulkSMS 24).
    gateway[1].update_config({"error_for": {phone(3)[1:]: 24}})
    ids = await _jobs(herald_pool, broker, 10)
    queue = await topology.get_queue(batching.amqp_channel, topology.SMS.queue)
    async with consuming(queue, functools.partial(batching.on_job, topology.SMS)):
        # The refused ones wait in the 5 s retry tier, then go on their own.
        outcomes = await _outcomes(broker, 10)
    statuses = {o.message_id: o.status for o in outcomes}
    assert statuses[ids[2]] == "error"
    assert [statuses[i] for i in ids if i != ids[2]] == ["sent"] * 9
    retried = [m for m in gateway[1].messages if m.endpoint == "send_sms"]
    assert retried, "the refused batch's messages were sent on their own"
    assert (await message(herald_pool, ids[2]))["attempts"] >= 2


async def test_a_batch_answered_500_is_sent_again_as_it_was(
    herald_pool: Pool, broker: Broker, gateway: tuple[str, State], batching: Sender
) -> None:
    gateway[1].update_config({"fail_first": {"count": 1, "http_status": 500}})
    # Queued before the consumer starts, so that they arrive as one batch.
    ids = await _jobs(herald_pool, broker, 5)
    queue = await topology.get_queue(batching.amqp_channel, topology.SMS.queue)
    async with consuming(queue, functools.partial(batching.on_job, topology.SMS)):
        outcomes = await _outcomes(broker, 5)
    assert sorted(o.message_id for o in outcomes) == ids
    assert {o.status for o in outcomes} == {"sent"}
    assert gateway[1].rejected == 1
    assert len(gateway[1].messages) == 5  # nothing twice


async def test_unconfirmed_outcomes_are_written_directly_and_nothing_is_sent_twice(
    herald_pool: Pool, broker: Broker, gateway: tuple[str, State]
) -> None:
    async def refuse(number: int) -> None:
        raise RuntimeError("broker nacked the outcome event")

    ids = await _jobs(herald_pool, broker, 10)
    async with _sender(herald_pool, broker, gateway[0], refuse, batch_size=100) as sender:
        queue = await topology.get_queue(sender.amqp_channel, topology.SMS.queue)
        async with consuming(queue, functools.partial(sender.on_job, topology.SMS)):

            async def all_final() -> bool:
                rows = [await message(herald_pool, i) for i in ids]
                return all(row["status"] == "sent" for row in rows)

            await eventually(all_final, timeout=20, what="outcomes written by the sender")
    assert len(gateway[1].messages) == 10  # each once, even though no event was confirmed
    assert await queue_count(broker.channel, topology.OUTCOME_QUEUE) == 0
    # Every job acked: the closed channel handed nothing back.
    assert await queue_count(broker.channel, topology.SMS.queue) == 0
