"""Final statuses: writing a sender's outcomes, and closing campaigns with nothing pending."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

import asyncpg

from shared import vocabulary
from shared.db import Connection, Pool
from shared.ledger.reports import apply_reports
from shared.schemas import Outcome
from shared.vocabulary import FAILED, FINAL, PENDING, OutcomeStatus

__all__ = ["FAILED", "FINAL", "PENDING", "apply_outcomes", "close_finished_campaigns", "merge"]


async def close_finished_campaigns(conn: Connection, campaign_ids: Iterable[int]) -> list[int]:
    """Mark resolved campaigns with no pending message as sent / sent_with_error.

    Must run inside the transaction that changed the messages. The campaign rows are locked
    first, then checked in a new statement: under READ COMMITTED that statement sees every
    other transaction that finished the campaign's messages and released the lock, so two
    concurrent writers cannot both miss the last message.
    """
    ids = sorted(set(campaign_ids))
    if not ids:
        return []
    await conn.execute(
        "SELECT 1 FROM campaigns WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE", ids
    )
    rows = await conn.fetch(
        """
        UPDATE campaigns c
           SET status = CASE WHEN EXISTS (
                   SELECT 1 FROM messages m
                    WHERE m.campaign_id = c.id AND m.status = ANY($2::text[]))
                 THEN $4 ELSE $5 END,
               finished_at = now(), updated_at = now()
         WHERE c.id = ANY($1::bigint[])
           AND c.status = ANY($6::text[])
           AND c.resolved_at IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM messages m
                            WHERE m.campaign_id = c.id AND m.status = ANY($3::text[]))
        RETURNING c.id
        """,
        ids,
        list(FAILED),
        list(PENDING),
        vocabulary.finish_target(with_errors=True),
        vocabulary.finish_target(with_errors=False),
        list(vocabulary.sources_of("finish")),
    )
    return [row["id"] for row in rows]


# A sent outcome wins over any other for the same message: the gateway has accepted it.
_RANK: Final[dict[OutcomeStatus, int]] = {"sent": 0, "error": 1, "expired": 2, "cancelled": 3}


def merge(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """One outcome per message (redeliveries and duplicate jobs collapse), in id order."""
    best: dict[int, Outcome] = {}
    for outcome in outcomes:
        current = best.get(outcome.message_id)
        if current is None or _RANK[outcome.status] < _RANK[current.status]:
            best[outcome.message_id] = outcome
    return [best[key] for key in sorted(best)]


async def apply_outcomes(pool: Pool, outcomes: Sequence[Outcome]) -> tuple[int, list[int]]:
    """Write final statuses (only over pending ones) and close finished campaigns, in one
    transaction. Returns the rows changed and the campaigns closed."""
    merged = merge(outcomes)
    for attempt in range(5):
        try:
            return await _apply_once(pool, merged)
        except asyncpg.DeadlockDetectedError:
            # Two loggers touching the same campaign rows in a different order; try again.
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


async def _apply_once(pool: Pool, merged: list[Outcome]) -> tuple[int, list[int]]:
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """
            UPDATE messages m
               SET status = o.status,
                   error = o.error,
                   gateway_request = coalesce(o.request, m.gateway_request),
                   gateway_answer = coalesce(o.answer, m.gateway_answer),
                   batch_id = coalesce(o.batch_id, m.batch_id),
                   sent_at = CASE WHEN o.status = 'sent' THEN o.at ELSE m.sent_at END,
                   claimed_until = NULL,
                   updated_at = now()
              FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                          $6::text[], $7::timestamptz[])
                AS o(id, status, error, request, answer, batch_id, at)
             WHERE m.id = o.id AND m.status = ANY($8::text[])
            RETURNING m.campaign_id
            """,
            [o.message_id for o in merged],
            [o.status for o in merged],
            [o.error for o in merged],
            [o.gateway_request for o in merged],
            [o.gateway_answer for o in merged],
            [o.batch_id for o in merged],
            [o.at for o in merged],
            list(PENDING),
        )
        campaigns = {r["campaign_id"] for r in rows if r["campaign_id"] is not None}
        # Delivery reports that arrived before this send was stored can be matched now.
        await apply_reports(conn, [o.batch_id for o in merged if o.batch_id])
        closed = await close_finished_campaigns(conn, campaigns)
        return len(rows), closed
