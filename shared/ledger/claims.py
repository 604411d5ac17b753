"""A sender's hold on a ledger row: claimed before the gateway call, renewed, handed back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import asyncpg

from shared.db import Pool
from shared.ledger.outcomes import FINAL

ClaimResult = Literal["claimed", "final", "busy", "missing", "held"]


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of a claim; ``attempts`` counts gateway calls, this one included."""

    result: ClaimResult
    attempts: int = 0


async def claim(
    pool: Pool, message_id: int, lease: timedelta, *, now: datetime | None = None
) -> Claim:
    """Take one message for sending (see ``claim_many``)."""
    return (await claim_many(pool, [message_id], lease, now=now))[message_id]


async def claim_many(
    pool: Pool, message_ids: list[int], lease: timedelta, *, now: datetime | None = None
) -> dict[int, Claim]:
    """Take messages for sending in one round trip, each unless it is final, another sender
    holds it, or its campaign is paused (``held``: the job is dropped; resuming republishes
    the campaign). Leases run on the clock that gives ``now`` (the database's without
    one): a claim whose lease ended before ``now`` is taken over."""
    ids = sorted(set(message_ids))
    for attempt in range(_DEADLOCK_RETRIES):
        try:
            rows = await pool.fetch(_CLAIM_SQL, ids, lease, now)
            break
        except asyncpg.DeadlockDetectedError:
            # Two senders holding overlapping duplicate jobs; the loser simply asks again.
            if attempt == _DEADLOCK_RETRIES - 1:
                raise
    claims: dict[int, Claim] = {}
    for row in rows:
        if row["attempts"] is not None:
            claims[row["id"]] = Claim("claimed", row["attempts"])
        elif row["status"] is None:
            claims[row["id"]] = Claim("missing")
        elif row["campaign"] == "paused" and row["status"] == "new":
            claims[row["id"]] = Claim("held")
        else:
            claims[row["id"]] = Claim("final" if row["status"] in FINAL else "busy")
    return claims


_DEADLOCK_RETRIES = 3
# Rows are locked in id order (the ANY index scan), which keeps concurrent claims of
# overlapping sets from deadlocking in the common case. The outer SELECT reads the snapshot
# from before the UPDATE: for rows not claimed it tells final from held from busy.
_CLAIM_SQL = """
    WITH claimed AS (
        UPDATE messages
           SET status = 'sending', attempts = attempts + 1,
               claimed_until = coalesce($3::timestamptz, now()) + $2::interval,
               updated_at = now()
         WHERE id = ANY($1::bigint[])
           AND (status = 'new'
                OR (status = 'sending' AND claimed_until < coalesce($3::timestamptz, now())))
           AND NOT EXISTS (SELECT 1 FROM campaigns c
                            WHERE c.id = messages.campaign_id AND c.status = 'paused')
        RETURNING id, attempts)
    SELECT wanted.id, claimed.attempts, m.status, c.status AS campaign
      FROM unnest($1::bigint[]) AS wanted(id)
      LEFT JOIN claimed ON claimed.id = wanted.id
      LEFT JOIN messages m ON m.id = wanted.id
      LEFT JOIN campaigns c ON c.id = m.campaign_id
"""


async def renew(
    pool: Pool, message_id: int, attempts: int, lease: timedelta, *, now: datetime | None = None
) -> bool:
    """Extend our claim (``attempts`` identifies it) to ``lease`` after ``now``; False if it
    lapsed and was taken over or the row is final."""
    row = await pool.fetchval(
        "UPDATE messages SET claimed_until = coalesce($4::timestamptz, now()) + $3::interval"
        " WHERE id = $1 AND status = 'sending' AND attempts = $2 RETURNING 1",
        message_id,
        attempts,
        lease,
        now,
    )
    return row is not None


@dataclass(frozen=True, slots=True)
class Release:
    """A claim handed back: ``attempts`` identifies it, ``error`` says why the call failed."""

    message_id: int
    attempts: int
    error: str
    answer: str | None = None


async def release(
    pool: Pool, message_id: int, attempts: int, error: str, answer: str | None
) -> None:
    """Hand one claim back (see ``release_many``)."""
    await release_many(pool, [Release(message_id, attempts, error, answer)])


async def release_many(pool: Pool, releases: list[Release]) -> None:
    """Hand claims back for a later attempt in one statement, noting why each attempt
    failed. A claim that expired and was taken by another sender is left alone."""
    await pool.execute(
        "UPDATE messages m SET status = 'new', claimed_until = NULL, error = r.error,"
        " gateway_answer = coalesce(r.answer, m.gateway_answer), updated_at = now()"
        " FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[])"
        " AS r(id, attempts, error, answer)"
        " WHERE m.id = r.id AND m.status = 'sending' AND m.attempts = r.attempts",
        [r.message_id for r in releases],
        [r.attempts for r in releases],
        [r.error.replace("\x00", "\ufffd") for r in releases],
        [r.answer.replace("\x00", "\ufffd") if r.answer else r.answer for r in releases],
    )
