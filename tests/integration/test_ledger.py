"""Closing a campaign when its last message is final, under concurrent writers (real Postgres).

Two writers interleave with explicit transactions on two connections; ``blocked`` waits until
Postgres shows the second one waiting for the first one's lock, so each order is forced.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine
from typing import Any

import pytest

from services.logger import repo as logger_repo
from services.resolver import repo as resolver_repo
from shared import ledger
from shared.db import Connection, Pool
from tests.integration.helpers import (
    add_message,
    campaign,
    message,
    outcome,
    processing_campaign,
)
from tests.support.eventually import eventually

pytestmark = pytest.mark.timeout(30)


async def blocked(pool: Pool, count: int = 1) -> None:
    """Wait until ``count`` sessions of this database wait for a lock."""

    async def waiting() -> bool:
        found: int = await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return found >= count

    await eventually(waiting, timeout=5, what=f"{count} session(s) waiting for a lock")


async def finish_message(conn: Connection, message_id: int, status: str = "sent") -> None:
    """What the logger's UPDATE does to one row (only over a pending one)."""
    await conn.execute(
        "UPDATE messages SET status = $2, updated_at = now()"
        " WHERE id = $1 AND status = ANY($3::text[])",
        message_id,
        status,
        list(ledger.PENDING),
    )


async def test_two_writers_finishing_the_last_two_messages_close_the_campaign(
    pool: Pool,
) -> None:
    campaign_id = await processing_campaign(pool)
    first = await add_message(pool, campaign_id, 1)
    second = await add_message(pool, campaign_id, 2, status="sending")
    async with pool.acquire() as one, pool.acquire() as two:
        tx_one, tx_two = one.transaction(), two.transaction()
        await tx_one.start()
        await tx_two.start()
        await finish_message(one, first)
        await finish_message(two, second, "error")
        # Each sees the other's message still pending: the first cannot close...
        assert await ledger.close_finished_campaigns(one, [campaign_id]) == []
        # ...and the second waits for the first's lock, then sees its commit.
        closing = asyncio.create_task(ledger.close_finished_campaigns(two, [campaign_id]))
        await blocked(pool)
        assert not closing.done()
        await tx_one.commit()
        assert await closing == [campaign_id]
        await tx_two.commit()

    state = await campaign(pool, campaign_id)
    assert state["status"] == "sent_with_error" and state["finished_at"] is not None


async def test_a_logger_batch_waits_for_a_concurrent_writer_and_closes(pool: Pool) -> None:
    campaign_id = await processing_campaign(pool)
    first = await add_message(pool, campaign_id, 1)
    second = await add_message(pool, campaign_id, 2)
    async with pool.acquire() as one, one.transaction():
        await finish_message(one, first)
        assert await ledger.close_finished_campaigns(one, [campaign_id]) == []
        applying = asyncio.create_task(logger_repo.apply(pool, [outcome(second, "sent")]))
        await blocked(pool)
    assert await applying == (1, [campaign_id])
    assert (await campaign(pool, campaign_id))["status"] == "sent"


async def test_resolver_finish_waits_for_the_logger_holding_the_campaign(pool: Pool) -> None:
    campaign_id = await processing_campaign(pool, resolved=False)
    last = await add_message(pool, campaign_id, 1)
    async with pool.acquire() as logger_conn, logger_conn.transaction():
        await finish_message(logger_conn, last)
        # Not resolved yet: the logger may not close it.
        assert await ledger.close_finished_campaigns(logger_conn, [campaign_id]) == []
        finishing = asyncio.create_task(resolver_repo.finish(pool, campaign_id))
        await blocked(pool)
    assert await finishing is True
    state = await campaign(pool, campaign_id)
    assert state["status"] == "sent" and state["resolved_at"] is not None


async def test_the_logger_waits_for_the_resolver_finishing_and_closes(pool: Pool) -> None:
    campaign_id = await processing_campaign(pool, resolved=False)
    last = await add_message(pool, campaign_id, 1, status="sending")
    async with pool.acquire() as resolver_conn, resolver_conn.transaction():
        # resolver/repo.finish, step by step.
        await resolver_conn.execute(
            "UPDATE campaigns SET resolved_at = now() WHERE id = $1", campaign_id
        )
        applying = asyncio.create_task(logger_repo.apply(pool, [outcome(last, "sent")]))
        await blocked(pool)  # its message is written, its close waits for our lock
        assert await ledger.close_finished_campaigns(resolver_conn, [campaign_id]) == []
    assert await applying == (1, [campaign_id])
    assert (await campaign(pool, campaign_id))["status"] == "sent"


async def test_resolver_finish_between_the_loggers_write_and_its_close(pool: Pool) -> None:
    campaign_id = await processing_campaign(pool, resolved=False)
    last = await add_message(pool, campaign_id, 1)
    async with pool.acquire() as logger_conn, logger_conn.transaction():
        await finish_message(logger_conn, last)
        # The resolver does not wait (no campaign lock yet) and sees the message pending.
        assert await asyncio.wait_for(resolver_repo.finish(pool, campaign_id), 5) is False
        assert await ledger.close_finished_campaigns(logger_conn, [campaign_id]) == [campaign_id]
    assert (await campaign(pool, campaign_id))["status"] == "sent"


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_concurrent_batches_and_finishes_close_every_campaign(pool: Pool, seed: int) -> None:
    rng = random.Random(seed)
    campaigns = [await processing_campaign(pool, resolved=False) for _ in range(15)]
    outcomes = []
    expected: dict[int, str] = {}
    for campaign_id in campaigns:
        expected[campaign_id] = "sent"
        for customer in range(1, 6):
            message_id = await add_message(pool, campaign_id, customer)
            status = "error" if rng.random() < 0.1 else "sent"
            if status == "error":
                expected[campaign_id] = "sent_with_error"
            outcomes.append(outcome(message_id, status))
    rng.shuffle(outcomes)
    batches = [outcomes[i : i + 7] for i in range(0, len(outcomes), 7)]
    # A redelivered batch too: it must change nothing.
    batches.append(rng.sample(outcomes, 7))
    work: list[Coroutine[Any, Any, object]] = [logger_repo.apply(pool, b) for b in batches]
    work += [resolver_repo.finish(pool, campaign_id) for campaign_id in campaigns]
    rng.shuffle(work)

    results = await asyncio.gather(*work)

    changed = sum(r[0] for r in results if isinstance(r, tuple))
    assert changed == len(outcomes)
    for campaign_id in campaigns:
        state = await campaign(pool, campaign_id)
        assert state["status"] == expected[campaign_id], state
    for item in outcomes:
        assert (await message(pool, item.message_id))["status"] == item.status
