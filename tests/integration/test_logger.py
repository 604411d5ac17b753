"""The logger's writes (services/logger/repo.apply) against real Postgres."""

from __future__ import annotations

import pytest

from services.logger import repo
from shared.db import Pool
from tests.integration.helpers import (
    add_message,
    campaign,
    message,
    outcome,
    processing_campaign,
)

pytestmark = pytest.mark.timeout(30)


async def test_the_same_outcomes_twice_change_nothing_the_second_time(pool: Pool) -> None:
    campaign_id = await processing_campaign(pool)
    ids = [await add_message(pool, campaign_id, n) for n in (1, 2, 3)]
    outcomes = [
        outcome(ids[0], "sent", gateway_answer="HTTP 200\n0|IN_PROGRESS|77", batch_id="77"),
        outcome(ids[1], "error", error="HTTP 200: 24|invalid msisdn"),
        outcome(ids[2], "expired", error="not sent before expiry"),
    ]

    assert await repo.apply(pool, outcomes) == (3, [campaign_id])
    before = [await message(pool, i) for i in ids]
    assert await repo.apply(pool, outcomes) == (0, [])
    assert [await message(pool, i) for i in ids] == before

    sent, error, expired = before
    assert (sent["status"], sent["batch_id"], sent["error"]) == ("sent", "77", None)
    assert sent["sent_at"] == outcomes[0].at and sent["claimed_until"] is None
    assert (error["status"], error["error"], error["sent_at"]) == (
        "error",
        "HTTP 200: 24|invalid msisdn",
        None,
    )
    assert expired["status"] == "expired"


async def test_sent_wins_over_error_for_one_message_in_one_batch(pool: Pool) -> None:
    campaign_id = await processing_campaign(pool, resolved=False)
    sent_first = await add_message(pool, campaign_id, 1)
    error_first = await add_message(pool, campaign_id, 2)

    changed, _ = await repo.apply(
        pool,
        [
            outcome(sent_first, "sent", batch_id="9"),
            outcome(sent_first, "error", error="x"),
            outcome(error_first, "error", error="x"),
            outcome(error_first, "expired", error="y"),
            outcome(error_first, "sent", batch_id="10"),
        ],
    )

    assert changed == 2
    for message_id, batch_id in ((sent_first, "9"), (error_first, "10")):
        row = await message(pool, message_id)
        assert (row["status"], row["error"], row["batch_id"]) == ("sent", None, batch_id)


async def test_a_final_row_never_changes_again(pool: Pool) -> None:
    campaign_id = await processing_campaign(pool)
    finals = ("sent", "error", "expired", "cancelled", "skipped")
    ids = [await add_message(pool, campaign_id, n, status=s) for n, s in enumerate(finals, 1)]
    before = [await message(pool, i) for i in ids]

    for status in ("sent", "error", "expired", "cancelled"):
        late = [outcome(i, status, error="late", gateway_answer="late") for i in ids]
        assert await repo.apply(pool, late) == (0, [])

    assert [await message(pool, i) for i in ids] == before


async def test_a_sending_row_takes_its_outcome(pool: Pool) -> None:
    campaign_id = await processing_campaign(pool)
    message_id = await add_message(pool, campaign_id, 1, status="sending")
    await pool.execute(
        "UPDATE messages SET claimed_until = now() + interval '1 minute', error = 'HTTP 503'"
        " WHERE id = $1",
        message_id,
    )

    assert await repo.apply(pool, [outcome(message_id, "sent")]) == (1, [campaign_id])

    row = await message(pool, message_id)
    assert (row["status"], row["claimed_until"], row["error"]) == ("sent", None, None)


async def test_unknown_and_campaignless_messages(pool: Pool) -> None:
    test_message = await add_message(pool, None, 1, kind="test")

    changed, closed = await repo.apply(
        pool, [outcome(test_message, "sent"), outcome(10**12, "sent")]
    )

    assert (changed, closed) == (1, [])
    assert (await message(pool, test_message))["status"] == "sent"


async def test_the_campaign_closes_only_when_every_row_is_final(pool: Pool) -> None:
    campaign_id = await processing_campaign(pool)
    first = await add_message(pool, campaign_id, 1)
    second = await add_message(pool, campaign_id, 2, status="sending")
    await add_message(pool, campaign_id, 3, status="skipped")

    assert await repo.apply(pool, [outcome(first, "sent")]) == (1, [])
    state = await campaign(pool, campaign_id)
    assert state["status"] == "processing" and state["finished_at"] is None

    assert await repo.apply(pool, [outcome(second, "sent")]) == (1, [campaign_id])
    state = await campaign(pool, campaign_id)
    assert state["status"] == "sent" and state["finished_at"] is not None


async def test_any_failed_row_closes_the_campaign_as_sent_with_error(pool: Pool) -> None:
    for failure in ("error", "expired"):
        campaign_id = await processing_campaign(pool)
        ids = [await add_message(pool, campaign_id, n) for n in (1, 2, 3)]

        _, closed = await repo.apply(
            pool, [outcome(ids[0], "sent"), outcome(ids[1], failure), outcome(ids[2], "sent")]
        )

        assert closed == [campaign_id]
        assert (await campaign(pool, campaign_id))["status"] == "sent_with_error", failure


async def test_error_rows_written_by_the_resolver_count_as_failures(pool: Pool) -> None:
    campaign_id = await processing_campaign(pool)
    await add_message(pool, campaign_id, 1, recipient="", status="error")
    pending = await add_message(pool, campaign_id, 2)

    await repo.apply(pool, [outcome(pending, "sent")])

    assert (await campaign(pool, campaign_id))["status"] == "sent_with_error"


async def test_no_close_while_resolution_is_unfinished(pool: Pool) -> None:
    campaign_id = await processing_campaign(pool, resolved=False)
    message_id = await add_message(pool, campaign_id, 1)

    assert await repo.apply(pool, [outcome(message_id, "sent")]) == (1, [])

    state = await campaign(pool, campaign_id)
    assert state["status"] == "processing" and state["finished_at"] is None


async def test_a_cancelled_campaign_is_not_reopened_or_closed_as_sent(pool: Pool) -> None:
    campaign_id = await processing_campaign(pool)
    message_id = await add_message(pool, campaign_id, 1, status="sending")
    await pool.execute("UPDATE campaigns SET status = 'cancelled' WHERE id = $1", campaign_id)

    assert await repo.apply(pool, [outcome(message_id, "sent")]) == (1, [])

    assert (await campaign(pool, campaign_id))["status"] == "cancelled"


async def test_one_batch_closes_several_campaigns(pool: Pool) -> None:
    done = [await processing_campaign(pool) for _ in range(3)]
    still_open = await processing_campaign(pool)
    ids = [await add_message(pool, c, 1) for c in done]
    await add_message(pool, still_open, 1)
    other = await add_message(pool, still_open, 2)

    changed, closed = await repo.apply(
        pool, [outcome(i, "sent") for i in ids] + [outcome(other, "error")]
    )

    assert changed == 4 and sorted(closed) == sorted(done)
    assert (await campaign(pool, still_open))["status"] == "processing"


async def test_an_outcome_with_a_nul_byte_from_the_gateway_is_stored(pool: Pool) -> None:
    campaign_id = await processing_campaign(pool)
    message_id = await add_message(pool, campaign_id, 1, status="sending")
    answer = "HTTP 200\n0|IN_PROGRESS|1234\x00\x00"

    changed, _ = await repo.apply(
        pool, [outcome(message_id, "sent", gateway_answer=answer, error=None)]
    )

    assert changed == 1
    assert (await message(pool, message_id))["status"] == "sent"
