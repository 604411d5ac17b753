"""SQL of the sender: claiming a message before the gateway call, releasing it for a retry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from shared import ledger
from shared.db import Pool

ClaimResult = Literal["claimed", "final", "busy", "missing", "held"]


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of a claim; ``attempts`` counts gateway calls, this one included."""

    result: ClaimResult
    attempts: int = 0


async def claim(pool: Pool, message_id: int, lease: timedelta) -> Claim:
    """Take a message for sending, unless it is final, another sender holds it, or its
    campaign is paused (``held``: the job is dropped; resuming republishes the campaign)."""
    row = await pool.fetchrow(
        """
        WITH claimed AS (
            UPDATE messages
               SET status = 'sending', attempts = attempts + 1,
                   claimed_until = now() + $2::interval, updated_at = now()
             WHERE id = $1
               AND (status = 'new' OR (status = 'sending' AND claimed_until < now()))
               AND NOT EXISTS (SELECT 1 FROM campaigns c
                                WHERE c.id = messages.campaign_id AND c.status = 'paused')
            RETURNING attempts)
        SELECT (SELECT attempts FROM claimed) AS attempts,
               m.status,
               (SELECT c.status FROM campaigns c WHERE c.id = m.campaign_id) AS campaign
          FROM (SELECT $1::bigint AS id) wanted
          LEFT JOIN messages m ON m.id = wanted.id
        """,
        message_id,
        lease,
    )
    assert row is not None
    if row["attempts"] is not None:
        return Claim("claimed", row["attempts"])
    if row["status"] is None:
        return Claim("missing")
    if row["campaign"] == "paused" and row["status"] == "new":
        return Claim("held")
    return Claim("final" if row["status"] in ledger.FINAL else "busy")


async def release(
    pool: Pool, message_id: int, attempts: int, error: str, answer: str | None
) -> None:
    """Hand our claim (``attempts`` identifies it) back for a later attempt, noting why this
    one failed. A claim that expired and was taken by another sender is left alone."""
    await pool.execute(
        "UPDATE messages SET status = 'new', claimed_until = NULL, error = $3,"
        " gateway_answer = coalesce($4, gateway_answer), updated_at = now()"
        " WHERE id = $1 AND status = 'sending' AND attempts = $2",
        message_id,
        attempts,
        error.replace("\x00", "\ufffd"),
        answer.replace("\x00", "\ufffd") if answer else answer,
    )
