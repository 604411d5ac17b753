"""The resolver against real Postgres and RabbitMQ: one job per number, resumable, idempotent."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import aio_pika
import pytest

from services.resolver.handlers import Interrupted, Resolver
from shared import amqp, topology
from shared.db import Pool
from shared.schemas import ResolveCampaign, SmsJob
from shared.settings import Settings
from tests.integration.conftest import Broker
from tests.integration.helpers import (
    HookedExchange,
    add_people,
    campaign,
    configure_sms,
    consuming,
    create_campaign,
    drain,
    ledger,
    person,
    phone,
    queue_count,
)
from tests.support.eventually import eventually

pytestmark = pytest.mark.timeout(60)


class BrokerDown(Exception):
    """A publish that the (simulated) broker refused."""


def settings(batch_size: int = 1000) -> Settings:
    return Settings(resolver_batch_size=batch_size, default_region=None)


async def jobs(broker: Broker) -> list[SmsJob]:
    """Every job waiting in the SMS lane (taken off the queue)."""
    taken = await drain(broker.channel, topology.SMS.queue)
    for message in taken:
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    return [SmsJob.model_validate_json(message.body) for message in taken]


def duplicates(rows: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    counted = Counter((row["customer_id"], row["recipient"]) for row in rows)
    return [key for key, n in counted.items() if n > 1]


async def test_one_job_per_valid_number_and_a_row_per_address(
    herald_pool: Pool, broker: Broker
) -> None:
    pool = herald_pool
    await configure_sms(pool)
    await add_people(
        pool,
        [
            person(1),
            # Two numbers (the first written twice): two rows, two jobs.
            person(2, f"{phone(2)}, {phone(1002)}; {phone(2)}"),
            person(3, ""),  # no number: an error row, no job
            person(4, "12-34"),  # invalid number: an error row, no job
            person(5, status="blocked"),  # filtered out: nothing at all
            person(6),
        ],
    )
    campaign_id = await create_campaign(pool, filters={"status": ["active"]})

    await Resolver(settings(), pool, broker.channel, broker.exchange).resolve(campaign_id)

    rows = await ledger(pool, campaign_id)
    by_customer: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_customer.setdefault(row["customer_id"], []).append(row)
    assert sorted(by_customer) == [1, 2, 3, 4, 6]
    assert sorted(r["recipient"] for r in by_customer[2]) == [phone(2), phone(1002)]
    assert [(r["status"], r["error"]) for r in by_customer[3]] == [("error", "no phone number")]
    assert by_customer[4][0]["status"] == "error" and by_customer[4][0]["recipient"] == "12-34"
    assert not duplicates(rows)

    published = await jobs(broker)
    new_rows = {r["id"]: r for r in rows if r["status"] == "new"}
    assert len(published) == len(new_rows) == 4
    assert Counter(job.message_id for job in published) == Counter(new_rows.keys())
    state = await campaign(pool, campaign_id)
    for job in published:
        row = new_rows[job.message_id]
        assert job.campaign_id == campaign_id
        assert job.to == row["recipient"]
        assert job.text == f"Hi Person {row['customer_id']}"
        assert job.expires_at == state["created_at"] + timedelta(days=2)
    assert {job.to for job in published} == {phone(1), phone(2), phone(1002), phone(6)}

    assert state["status"] == "processing"  # nothing sent yet
    assert state["resolved_at"] is not None and state["started_at"] is not None
    assert state["recipients_total"] == 5
    assert state["total"] == 6
    assert state["resolve_cursor"] == 6


async def test_resolving_again_publishes_nothing_and_adds_no_rows(
    herald_pool: Pool, broker: Broker
) -> None:
    pool = herald_pool
    await configure_sms(pool)
    await add_people(pool, [person(i) for i in range(1, 8)])
    campaign_id = await create_campaign(pool)
    await Resolver(settings(3), pool, broker.channel, broker.exchange).resolve(campaign_id)
    first_rows = await ledger(pool, campaign_id)
    first_state = await campaign(pool, campaign_id)
    assert len(await jobs(broker)) == 7

    # The same event again, to the same process and to another one.
    await Resolver(settings(3), pool, broker.channel, broker.exchange).resolve(campaign_id)
    await Resolver(settings(3), pool, broker.channel, broker.exchange).resolve(campaign_id)

    assert await queue_count(broker.channel, topology.SMS.queue) == 0
    assert await ledger(pool, campaign_id) == first_rows
    state = await campaign(pool, campaign_id)
    assert (state["recipients_total"], state["total"]) == (7, 7)
    assert state["resolved_at"] == first_state["resolved_at"]


async def test_resolution_after_the_last_batch_but_before_finish_publishes_nothing(
    herald_pool: Pool, broker: Broker
) -> None:
    """A crash between the last cursor move and ``finish``: the replay only finishes."""
    pool = herald_pool
    await configure_sms(pool)
    await add_people(pool, [person(i) for i in range(1, 5)])
    campaign_id = await create_campaign(pool)
    await Resolver(settings(2), pool, broker.channel, broker.exchange).resolve(campaign_id)
    assert len(await jobs(broker)) == 4
    await pool.execute("UPDATE campaigns SET resolved_at = NULL WHERE id = $1", campaign_id)

    await Resolver(settings(2), pool, broker.channel, broker.exchange).resolve(campaign_id)

    assert await queue_count(broker.channel, topology.SMS.queue) == 0
    state = await campaign(pool, campaign_id)
    assert state["resolved_at"] is not None
    assert (state["recipients_total"], state["total"]) == (4, 4)
    assert len(await ledger(pool, campaign_id)) == 4


async def test_a_publish_failure_mid_batch_resumes_from_the_cursor(
    herald_pool: Pool, broker: Broker
) -> None:
    pool = herald_pool
    await configure_sms(pool)
    # Batches of 3: [1, 2 (two numbers), 3] [4, 5 (no phone), 6] [7, 8].
    people = [person(i) for i in range(1, 9)]
    people[1] = person(2, f"{phone(2)}, {phone(1002)}")
    people[4] = person(5, "")
    await add_people(pool, people)
    campaign_id = await create_campaign(pool)

    async def fail_from_the_sixth(number: int) -> None:
        # Batch 1 publishes #0-#3; in batch 2, #4 (person 4) goes out, #5 (person 6) fails.
        if number >= 5:
            raise BrokerDown(f"publish #{number} refused")

    faulty = HookedExchange(broker.exchange, fail_from_the_sixth)
    with pytest.raises(BrokerDown):
        await Resolver(settings(3), pool, broker.channel, faulty.exchange).resolve(campaign_id)
    await faulty.idle()

    state = await campaign(pool, campaign_id)
    assert state["resolve_cursor"] == 3, "the cursor stays before the batch that failed"
    assert (state["recipients_total"], state["total"]) == (3, 4)
    assert state["resolved_at"] is None and state["status"] == "processing"
    rows = await ledger(pool, campaign_id)
    assert len(rows) == 7  # batch 2's rows were stored before publishing
    first_run = await jobs(broker)
    assert len(first_run) == 5
    # The job that did go out is sent before the resolver resumes: it must not go out again.
    (early,) = [job for job in first_run if job.to == phone(4)]
    await pool.execute("UPDATE messages SET status = 'sent' WHERE id = $1", early.message_id)

    await Resolver(settings(3), pool, broker.channel, broker.exchange).resolve(campaign_id)

    second_run = await jobs(broker)
    assert sorted(job.to for job in second_run) == [phone(6), phone(7), phone(8)]
    rows = await ledger(pool, campaign_id)
    assert len(rows) == 9 and not duplicates(rows)
    with_number = {r["id"] for r in rows if r["recipient"]}
    assert Counter(job.message_id for job in first_run + second_run) == Counter(with_number)
    state = await campaign(pool, campaign_id)
    assert (state["recipients_total"], state["total"]) == (8, 9)
    assert state["resolve_cursor"] == 8 and state["resolved_at"] is not None


async def test_a_stopping_resolver_hands_over_at_a_batch_boundary(
    herald_pool: Pool, broker: Broker
) -> None:
    pool = herald_pool
    await configure_sms(pool)
    await add_people(pool, [person(i) for i in range(1, 8)])
    campaign_id = await create_campaign(pool)
    resolvers: list[Resolver] = []

    async def stop_on_first_publish(number: int) -> None:
        if number == 0:
            resolvers[0].stopping.set()  # SIGTERM arrives while batch 1 is being published

    hooked = HookedExchange(broker.exchange, stop_on_first_publish)
    resolvers.append(Resolver(settings(3), pool, broker.channel, hooked.exchange))
    with pytest.raises(Interrupted):
        await resolvers[0].resolve(campaign_id)

    state = await campaign(pool, campaign_id)
    assert state["resolve_cursor"] == 3 and state["resolved_at"] is None
    assert (state["recipients_total"], state["total"]) == (3, 3)
    assert len(await ledger(pool, campaign_id)) == 3

    await Resolver(settings(3), pool, broker.channel, broker.exchange).resolve(campaign_id)

    rows = await ledger(pool, campaign_id)
    assert len(rows) == 7 and not duplicates(rows)
    published = await jobs(broker)
    assert Counter(job.message_id for job in published) == Counter(r["id"] for r in rows)
    state = await campaign(pool, campaign_id)
    assert (state["recipients_total"], state["total"]) == (7, 7)
    assert state["resolved_at"] is not None


async def test_campaigns_with_nothing_to_send_close_at_once(
    herald_pool: Pool, broker: Broker
) -> None:
    pool = herald_pool
    await configure_sms(pool)
    await add_people(pool, [person(1), person(2, ""), person(3, "not a number")])
    resolver = Resolver(settings(), pool, broker.channel, broker.exchange)

    nobody = await create_campaign(pool, filters={"status": ["inactive"]})
    await resolver.resolve(nobody)
    state = await campaign(pool, nobody)
    assert state["status"] == "sent"
    assert state["finished_at"] is not None and state["resolved_at"] is not None
    assert (state["recipients_total"], state["total"]) == (0, 0)
    assert await ledger(pool, nobody) == []

    only_errors = await create_campaign(pool, filters={"include_ids": [2, 3]})
    await resolver.resolve(only_errors)
    state = await campaign(pool, only_errors)
    assert state["status"] == "sent_with_error"
    assert (state["recipients_total"], state["total"]) == (2, 2)

    assert await queue_count(broker.channel, topology.SMS.queue) == 0


async def test_two_resolvers_on_the_same_campaign_count_each_recipient_once(
    herald_pool: Pool, broker: Broker
) -> None:
    pool = herald_pool
    await configure_sms(pool)
    await add_people(pool, [person(i) for i in range(1, 7)])
    campaign_id = await create_campaign(pool)
    paused, go_on = asyncio.Event(), asyncio.Event()

    async def pause_on_first_publish(number: int) -> None:
        if number == 0:
            paused.set()
            await go_on.wait()

    paused_exchange = HookedExchange(broker.exchange, pause_on_first_publish).exchange
    slow = Resolver(settings(2), pool, broker.channel, paused_exchange)
    first = asyncio.create_task(slow.resolve(campaign_id))
    try:
        await asyncio.wait_for(paused.wait(), 10)
        # The duplicate event reaches a second resolver while the first is mid-batch.
        await Resolver(settings(2), pool, broker.channel, broker.exchange).resolve(campaign_id)
    finally:
        go_on.set()
        await first

    rows = await ledger(pool, campaign_id)
    assert len(rows) == 6 and not duplicates(rows)
    state = await campaign(pool, campaign_id)
    assert (state["recipients_total"], state["total"]) == (6, 6)


async def test_a_campaign_that_can_never_resolve_fails_and_the_next_one_resolves(
    herald_pool: Pool, broker: Broker
) -> None:
    pool = herald_pool
    await configure_sms(pool)
    await add_people(pool, [person(1), person(2)])
    broken = await create_campaign(pool)
    # A filter stored by an older API that today's validator refuses.
    await pool.execute(
        "UPDATE campaigns SET filters = $2 WHERE id = $1", broken, {"status": ["dormant"]}
    )
    good = await create_campaign(pool)
    channel, exchange = await broker.channel_with(prefetch=1)  # as the resolver consumes
    for campaign_id in (broken, good):
        await amqp.publish(exchange, topology.RK_RESOLVE, ResolveCampaign(campaign_id=campaign_id))
    resolver = Resolver(settings(), pool, channel, exchange)
    queue = await topology.get_queue(channel, topology.RESOLVE_QUEUE)

    async def both_done() -> bool:
        states = [await campaign(pool, c) for c in (broken, good)]
        return states[0]["status"] == "failed" and states[1]["resolved_at"] is not None

    async with consuming(queue, resolver.on_message):
        await eventually(both_done, timeout=20, what="the broken campaign failed, the good one")

    failed = await campaign(pool, broken)
    assert failed["failed_reason"].startswith("ValidationError: 1 validation error for Filters")
    assert failed["finished_at"] is not None and failed["resolved_at"] is None
    assert await ledger(pool, broken) == []
    assert {row["status"] for row in await ledger(pool, good)} == {"new"}
    assert len(await jobs(broker)) == 2  # the good campaign's, one per person
    await channel.close()  # an event not acked would be ready again now
    assert await queue_count(broker.channel, topology.RESOLVE_QUEUE) == 0
