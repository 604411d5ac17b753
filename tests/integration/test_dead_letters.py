"""Malformed queue messages: each consumer dead-letters them with a reason and carries on.

The real handlers (resolver, sender, logger) consume the real queues in-process; the sender
talks to the sandbox gateway served in-process as well.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aio_pika.abc import AbstractIncomingMessage

from demo.client import sandbox_sms_config
from sandbox.state import State
from services.logger import handlers as logger_handlers
from services.logger import repo as logger_repo
from services.logger.handlers import BatchWriter
from services.resolver import handlers as resolver_handlers
from services.resolver.handlers import Resolver
from services.sender.handlers import Sender
from services.sender.sms import SmsDriver
from shared import amqp, topology
from shared.db import Pool
from shared.models import SmsConfig
from shared.schemas import ResolveCampaign, SmsJob, parse_outcomes
from shared.settings import Settings
from tests.integration.conftest import Broker
from tests.integration.helpers import (
    add_message,
    add_people,
    campaign,
    configure_sms,
    consuming,
    create_campaign,
    drain,
    header,
    message,
    outcome,
    person,
    phone,
    processing_campaign,
    publish_raw,
    queue_count,
)
from tests.support.eventually import eventually

pytestmark = pytest.mark.timeout(60)

GARBAGE = b"\x80\xff\x00 definitely not JSON"
TOMORROW = datetime.now(UTC) + timedelta(days=1)
SOON = TOMORROW.isoformat()
# JSON, but not the shape of any Herald message.
WRONG_SHAPES = [b"", b"null", b"[1, 2]", b'"campaign"', b"{}"]
BIG_ID = 2**63  # valid for the schemas (no upper bound), too big for a bigint column


async def dead_letters(
    broker: Broker, count: int, within: float = 10
) -> list[AbstractIncomingMessage]:
    """Wait until the dead-letter queue holds ``count`` messages, and take them."""

    async def enough() -> bool:
        return await queue_count(broker.channel, topology.DEAD_LETTER_QUEUE) >= count

    await eventually(enough, timeout=within, what=f"{count} dead letters")
    return await drain(broker.channel, topology.DEAD_LETTER_QUEUE)


def assert_dead_lettered(
    dead: list[AbstractIncomingMessage], bodies: Iterable[bytes], routing_key: str, reason: str
) -> None:
    """Exactly these bodies, each once, with Herald's reason and source headers."""
    assert sorted(m.body for m in dead) == sorted(bodies)
    for letter in dead:
        assert reason in (header(letter, amqp.REASON_HEADER) or ""), letter.headers
        assert header(letter, amqp.SOURCE_HEADER) == routing_key


async def dead_lettered_with_reason(broker: Broker, bodies: list[bytes], within: float) -> None:
    """Wait until each of ``bodies`` reaches the dead-letter queue with Herald's reason."""
    seen: list[AbstractIncomingMessage] = []

    async def arrived() -> bool:
        seen.extend(await drain(broker.channel, topology.DEAD_LETTER_QUEUE))
        explained = {m.body for m in seen if header(m, amqp.REASON_HEADER)}
        return all(body in explained for body in bodies)

    await eventually(arrived, timeout=within, what="dead letters with x-herald-reason")


async def test_the_resolver_dead_letters_bad_events_and_keeps_resolving(
    herald_pool: Pool, broker: Broker
) -> None:
    pool = herald_pool
    await configure_sms(pool)
    await add_people(pool, [person(1), person(2)])
    campaign_id = await create_campaign(pool)
    channel, exchange = await broker.channel_with(prefetch=1)  # as the resolver process
    resolver = Resolver(Settings(), pool, channel, exchange)
    queue = await topology.get_queue(channel, topology.RESOLVE_QUEUE)
    bad = [
        GARBAGE,
        *WRONG_SHAPES,
        b'{"campaign_id": "seven"}',
        b'{"campaign_id": 0}',
        b'{"campaign_id": 1, "priority": "high"}',
    ]

    async with consuming(queue, resolver.on_message):
        for body in bad:
            await publish_raw(broker.exchange, topology.RK_RESOLVE, body)
        # A well-formed event for no campaign is simply done with.
        await amqp.publish(broker.exchange, topology.RK_RESOLVE, ResolveCampaign(campaign_id=999))
        await amqp.publish(
            broker.exchange, topology.RK_RESOLVE, ResolveCampaign(campaign_id=campaign_id)
        )

        async def resolved() -> bool:
            return (await campaign(pool, campaign_id))["resolved_at"] is not None

        await eventually(resolved, what="the good campaign resolved")

    await channel.close()  # anything unacked would now be back in the queue
    assert await queue_count(broker.channel, topology.RESOLVE_QUEUE) == 0
    assert await queue_count(broker.channel, topology.SMS.queue) == 2
    assert_dead_lettered(
        await dead_letters(broker, len(bad)), bad, topology.RK_RESOLVE, "invalid resolve event"
    )


@pytest.fixture
async def sender(
    herald_pool: Pool, broker: Broker, gateway: tuple[str, State]
) -> AsyncIterator[Sender]:
    """A sender over its own channel, configured for the sandbox."""
    channel, exchange = await broker.channel_with(prefetch=10)
    sms = SmsDriver(herald_pool)
    await sms.apply_config(SmsConfig.model_validate(sandbox_sms_config(gateway[0])))
    running = Sender(herald_pool, channel, exchange, {"sms": sms})
    try:
        yield running
    finally:
        await running.close(seconds=5)
        await sms.close()
        await channel.close()


async def test_the_sender_dead_letters_bad_jobs_and_keeps_sending(
    herald_pool: Pool, broker: Broker, sender: Sender, gateway: tuple[str, State]
) -> None:
    pool = herald_pool
    message_id = await add_message(pool, await processing_campaign(pool), 1)
    queue = await topology.get_queue(sender.amqp_channel, topology.SMS.queue)
    bad = [
        GARBAGE,
        *WRONG_SHAPES,
        b'{"message_id": "x", "to": "+27820000001", "text": "hi", "expires_at": "soon"}',
        json.dumps({"message_id": 1, "to": "", "text": "hi", "expires_at": SOON}).encode(),
        json.dumps({"message_id": 1, "to": "+27820000001", "text": "hi"}).encode(),
    ]
    job = SmsJob(message_id=message_id, to=phone(1), text="hello", expires_at=TOMORROW)

    async with consuming(queue, functools.partial(sender.on_job, topology.SMS)):
        for body in bad:
            await publish_raw(broker.exchange, topology.SMS.routing_key, body)
        await amqp.publish(broker.exchange, topology.SMS.routing_key, job)

        async def outcome_published() -> bool:
            return await queue_count(broker.channel, topology.OUTCOME_QUEUE) == 1

        await eventually(outcome_published, what="the good job's outcome")

    (published,) = await drain(broker.channel, topology.OUTCOME_QUEUE)
    (result,) = parse_outcomes(published.body)
    assert (result.message_id, result.status, result.attempt) == (message_id, "sent", 1)
    assert [(m.msisdn, m.message) for m in gateway[1].messages] == [(phone(1)[1:], "hello")]
    row = await message(pool, message_id)
    assert (row["status"], row["attempts"]) == ("sending", 1)  # the logger writes "sent"
    assert_dead_lettered(
        await dead_letters(broker, len(bad)), bad, topology.SMS.routing_key, "invalid SMS job"
    )
    assert await queue_count(broker.channel, topology.SMS.queue) == 0


async def test_the_logger_dead_letters_bad_outcomes_and_keeps_writing(
    herald_pool: Pool, broker: Broker
) -> None:
    pool = herald_pool
    campaign_id = await processing_campaign(pool)
    message_id = await add_message(pool, campaign_id, 1, status="sending")
    channel, _ = await broker.channel_with(prefetch=100)
    writer = BatchWriter(pool, channel, batch_size=50, max_wait_s=0.05)
    queue = await topology.get_queue(channel, topology.OUTCOME_QUEUE)
    at = datetime.now(UTC).isoformat()
    bad = [
        GARBAGE,
        *WRONG_SHAPES,
        json.dumps({"message_id": message_id, "status": "delivered", "at": at}).encode(),
        json.dumps({"message_id": message_id, "status": "sent"}).encode(),
        json.dumps({"message_id": message_id, "status": "sent", "at": at, "x": 1}).encode(),
    ]
    task = asyncio.create_task(writer.run())
    try:
        async with consuming(queue, writer.on_message):
            for body in bad:
                await publish_raw(broker.exchange, topology.RK_OUTCOME, body)
            await amqp.publish(broker.exchange, topology.RK_OUTCOME, outcome(message_id, "sent"))

            async def closed() -> bool:
                return bool((await campaign(pool, campaign_id))["status"] == "sent")

            await eventually(closed, what="the campaign closed by the good outcome")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await channel.close()

    assert (await message(pool, message_id))["status"] == "sent"
    assert await queue_count(broker.channel, topology.OUTCOME_QUEUE) == 0
    assert_dead_lettered(
        await dead_letters(broker, len(bad)), bad, topology.RK_OUTCOME, "invalid outcome event"
    )


# --- Well-formed but impossible to store: the schemas have no upper bound on ids ----------


async def test_ids_out_of_range_are_dead_lettered_with_a_reason(
    herald_pool: Pool, broker: Broker, sender: Sender, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resolver_handlers, "FAILURE_BACKOFF_SECONDS", 0.05)
    pool = herald_pool
    await configure_sms(pool)
    campaign_id = await create_campaign(pool)
    channel, exchange = await broker.channel_with(prefetch=1)
    resolver = Resolver(Settings(), pool, channel, exchange)
    resolve_queue = await topology.get_queue(channel, topology.RESOLVE_QUEUE)
    sms_queue = await topology.get_queue(sender.amqp_channel, topology.SMS.queue)
    bad_event = json.dumps({"campaign_id": BIG_ID}).encode()
    bad_job = json.dumps(
        {"message_id": BIG_ID, "to": phone(1), "text": "hello", "expires_at": SOON}
    ).encode()

    async with (
        consuming(resolve_queue, resolver.on_message),
        consuming(sms_queue, functools.partial(sender.on_job, topology.SMS)),
    ):
        await publish_raw(broker.exchange, topology.RK_RESOLVE, bad_event)
        await publish_raw(broker.exchange, topology.SMS.routing_key, bad_job)
        await amqp.publish(
            broker.exchange, topology.RK_RESOLVE, ResolveCampaign(campaign_id=campaign_id)
        )

        async def closed() -> bool:
            return bool((await campaign(pool, campaign_id))["status"] == "sent")

        await eventually(closed, what="the good campaign closed")
        await dead_lettered_with_reason(broker, [bad_job, bad_event], within=2.5)
    await channel.close()


async def test_one_unstorable_outcome_does_not_poison_its_batch(
    herald_pool: Pool, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logger_handlers, "FAILURE_BACKOFF_SECONDS", 0.05)
    pool = herald_pool
    campaign_id = await processing_campaign(pool)
    message_id = await add_message(pool, campaign_id, 1, status="sending")
    channel, _ = await broker.channel_with(prefetch=100)
    writer = BatchWriter(pool, channel, batch_size=50, max_wait_s=0.2)
    queue = await topology.get_queue(channel, topology.OUTCOME_QUEUE)
    # An outcome the database refuses (as it would one with impossible data).
    poison_id = message_id + 1000
    real_apply = logger_repo.apply

    async def refusing_apply(pool: Pool, outcomes: Any) -> Any:
        if any(o.message_id == poison_id for o in outcomes):
            raise asyncpg.DataError("value out of range")
        return await real_apply(pool, outcomes)

    monkeypatch.setattr(logger_repo, "apply", refusing_apply)
    poison = outcome(poison_id, "sent").model_dump_json().encode()
    task = asyncio.create_task(writer.run())
    try:
        async with consuming(queue, writer.on_message):
            await publish_raw(broker.exchange, topology.RK_OUTCOME, poison)
            await amqp.publish(broker.exchange, topology.RK_OUTCOME, outcome(message_id, "sent"))

            async def written() -> bool:
                return bool((await message(pool, message_id))["status"] == "sent")

            await eventually(written, timeout=3, what="the valid outcome written")
            await dead_lettered_with_reason(broker, [poison], within=3)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await channel.close()
