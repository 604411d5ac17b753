"""A delivery report that arrives before the logger stored its send is applied later."""

from __future__ import annotations

from datetime import UTC, datetime

from services.logger import repo
from shared import delivery
from shared.db import Pool
from shared.schemas import Outcome
from tests.integration.helpers import add_message, message, processing_campaign


async def test_early_report_is_matched_when_the_send_is_stored(pool: Pool) -> None:
    campaign_id = await processing_campaign(pool)
    message_id = await add_message(pool, campaign_id, 1, status="sending")
    recipient = (await message(pool, message_id))["recipient"]
    async with pool.acquire() as conn, conn.transaction():
        applied = await delivery.store_report(conn, "B-77", recipient.lstrip("+"), 11, None)
    assert applied is False  # the logger has not stored batch B-77 yet

    outcome = Outcome(
        message_id=message_id,
        campaign_id=campaign_id,
        status="sent",
        batch_id="B-77",
        at=datetime.now(UTC),
    )
    await repo.apply(pool, [outcome])

    row = await message(pool, message_id)
    assert (row["status"], row["delivery_status"], row["delivery_code"]) == (
        "sent",
        "delivered",
        11,
    )
    assert (
        await pool.fetchval("SELECT count(*) FROM delivery_reports WHERE applied_at IS NULL") == 0
    )


async def test_latest_report_wins(pool: Pool) -> None:
    campaign_id = await processing_campaign(pool)
    message_id = await add_message(pool, campaign_id, 1, status="sending")
    await repo.apply(
        pool, [Outcome(message_id=message_id, status="sent", batch_id="B-1", at=datetime.now(UTC))]
    )
    number = (await message(pool, message_id))["recipient"].lstrip("+")
    async with pool.acquire() as conn, conn.transaction():
        assert await delivery.store_report(
            conn, "B-1", number, 10, datetime(2026, 1, 1, 10, tzinfo=UTC)
        )
        assert await delivery.store_report(
            conn, "B-1", number, 11, datetime(2026, 1, 1, 11, tzinfo=UTC)
        )
    assert (await message(pool, message_id))["delivery_status"] == "delivered"
