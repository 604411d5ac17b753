"""The sender's claim and release (shared/ledger/claims) against real Postgres."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from shared import ledger
from shared.db import Pool
from shared.ledger import Claim
from tests.integration.helpers import add_message, message, processing_campaign

pytestmark = pytest.mark.timeout(30)

LEASE = timedelta(seconds=30)


async def test_a_new_message_is_claimed_once(pool: Pool) -> None:
    message_id = await add_message(pool, await processing_campaign(pool), 1)

    assert await ledger.claim(pool, message_id, LEASE) == Claim("claimed", 1)

    row = await message(pool, message_id)
    assert (row["status"], row["attempts"]) == ("sending", 1)
    lease_left = await pool.fetchval(
        "SELECT claimed_until - now() FROM messages WHERE id = $1", message_id
    )
    assert timedelta(seconds=25) < lease_left <= LEASE


async def test_a_second_claim_during_the_lease_is_busy(pool: Pool) -> None:
    message_id = await add_message(pool, await processing_campaign(pool), 1)
    await ledger.claim(pool, message_id, LEASE)

    assert await ledger.claim(pool, message_id, LEASE) == Claim("busy")

    assert (await message(pool, message_id))["attempts"] == 1


async def test_concurrent_claims_let_exactly_one_sender_through(pool: Pool) -> None:
    message_id = await add_message(pool, await processing_campaign(pool), 1)

    claims = await asyncio.gather(*(ledger.claim(pool, message_id, LEASE) for _ in range(10)))

    assert sorted(c.result for c in claims) == ["busy"] * 9 + ["claimed"]
    assert (await message(pool, message_id))["attempts"] == 1


async def test_an_expired_lease_is_claimed_again_with_one_more_attempt(pool: Pool) -> None:
    message_id = await add_message(pool, await processing_campaign(pool), 1)
    start = datetime.now(UTC)
    short = timedelta(seconds=1)
    assert await ledger.claim(pool, message_id, short, now=start) == Claim("claimed", 1)
    just_before = start + short - timedelta(milliseconds=1)
    assert await ledger.claim(pool, message_id, LEASE, now=just_before) == Claim("busy")

    later = start + short + timedelta(milliseconds=1)  # the lease has run out
    assert await ledger.claim(pool, message_id, LEASE, now=later) == Claim("claimed", 2)
    assert await ledger.claim(pool, message_id, LEASE, now=later) == Claim("busy")


async def test_final_rows_are_reported_final_and_left_alone(pool: Pool) -> None:
    campaign_id = await processing_campaign(pool)
    for customer, status in enumerate(("sent", "error", "expired", "cancelled", "skipped"), 1):
        message_id = await add_message(pool, campaign_id, customer, status=status)
        before = await message(pool, message_id)

        assert await ledger.claim(pool, message_id, LEASE) == Claim("final"), status

        assert await message(pool, message_id) == before


async def test_an_unknown_message_is_missing(pool: Pool) -> None:
    assert await ledger.claim(pool, 10**12, LEASE) == Claim("missing")


async def test_release_hands_the_message_back_for_the_next_attempt(pool: Pool) -> None:
    message_id = await add_message(pool, await processing_campaign(pool), 1)
    await ledger.claim(pool, message_id, LEASE)

    await ledger.release(pool, message_id, 1, "HTTP 503: try later", "HTTP 503\nbusy")

    row = await message(pool, message_id)
    assert (row["status"], row["claimed_until"], row["attempts"]) == ("new", None, 1)
    assert (row["error"], row["gateway_answer"]) == ("HTTP 503: try later", "HTTP 503\nbusy")
    assert await ledger.claim(pool, message_id, LEASE) == Claim("claimed", 2)

    # Without an answer the previous one is kept.
    await ledger.release(pool, message_id, 2, "timeout", None)
    row = await message(pool, message_id)
    assert (row["error"], row["gateway_answer"]) == ("timeout", "HTTP 503\nbusy")


async def test_release_does_not_reopen_a_final_row(pool: Pool) -> None:
    message_id = await add_message(pool, await processing_campaign(pool), 1, status="sent")

    await ledger.release(pool, message_id, 0, "late", None)

    row = await message(pool, message_id)
    assert (row["status"], row["error"]) == ("sent", None)


async def test_a_stale_sender_cannot_release_a_newer_claim(pool: Pool) -> None:
    message_id = await add_message(pool, await processing_campaign(pool), 1)
    start = datetime.now(UTC)
    short = timedelta(seconds=1)
    assert await ledger.claim(pool, message_id, short, now=start) == Claim("claimed", 1)
    later = start + 2 * short  # sender A stalls past its lease...
    assert await ledger.claim(pool, message_id, LEASE, now=later) == Claim("claimed", 2)  # B

    await ledger.release(pool, message_id, 1, "A: HTTP 503", None)  # A's late failure

    # B is still talking to the gateway: nobody else may claim the message.
    assert await ledger.claim(pool, message_id, LEASE) == Claim("busy")


async def test_release_stores_an_answer_with_a_nul_byte(pool: Pool) -> None:
    message_id = await add_message(pool, await processing_campaign(pool), 1)
    await ledger.claim(pool, message_id, LEASE)

    await ledger.release(pool, message_id, 1, "HTTP 503: busy", "HTTP 503\nbusy\x00")

    assert (await message(pool, message_id))["status"] == "new"


async def test_claim_many_answers_each_id_and_claims_a_duplicate_once(pool: Pool) -> None:
    campaign_id = await processing_campaign(pool)
    new = await add_message(pool, campaign_id, 1)
    done = await add_message(pool, campaign_id, 2, status="sent")
    taken = await add_message(pool, campaign_id, 3)
    await ledger.claim(pool, taken, LEASE)

    claims = await ledger.claim_many(pool, [new, done, taken, new, 999_999], LEASE)

    assert claims == {
        new: Claim("claimed", 1),
        done: Claim("final"),
        taken: Claim("busy"),
        999_999: Claim("missing"),
    }
    assert (await message(pool, new))["attempts"] == 1


async def test_a_claim_is_renewed_only_by_its_holder(pool: Pool) -> None:
    message_id = await add_message(pool, await processing_campaign(pool), 1)
    start = datetime.now(UTC)
    await ledger.claim(pool, message_id, timedelta(seconds=1), now=start)
    assert await ledger.renew(pool, message_id, 1, LEASE, now=start)
    until = await pool.fetchval("SELECT claimed_until FROM messages WHERE id = $1", message_id)
    assert until == start + LEASE

    after = start + LEASE + timedelta(milliseconds=1)
    assert await ledger.claim(pool, message_id, LEASE, now=after) == Claim("claimed", 2)
    assert not await ledger.renew(pool, message_id, 1, LEASE, now=after)
    await pool.execute("UPDATE messages SET status = 'sent' WHERE id = $1", message_id)
    assert not await ledger.renew(pool, message_id, 2, LEASE)
