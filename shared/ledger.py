"""The per-message ledger (table ``messages``): the SQL that more than one service runs.

Final statuses never change again; every write below is guarded so that a redelivered job
or event is a no-op, which is what makes at-least-once delivery effectively-once.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.db import Connection

PENDING = ("new", "sending")
FINAL = ("sent", "error", "expired", "cancelled", "skipped")
FAILED = ("error", "expired")


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
                 THEN 'sent_with_error' ELSE 'sent' END,
               finished_at = now(), updated_at = now()
         WHERE c.id = ANY($1::bigint[])
           AND c.status = 'processing'
           AND c.resolved_at IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM messages m
                            WHERE m.campaign_id = c.id AND m.status = ANY($3::text[]))
        RETURNING c.id
        """,
        ids,
        list(FAILED),
        list(PENDING),
    )
    return [row["id"] for row in rows]
