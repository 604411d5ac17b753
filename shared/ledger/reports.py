"""Delivery reports the gateway sent, matched to the ledger rows of their batch."""

from __future__ import annotations

from collections.abc import Iterable

from shared.db import Connection


async def apply_reports(conn: Connection, batch_ids: Iterable[str] | None = None) -> int:
    """Apply stored reports not yet matched to a message (of these batches, or all).

    A report matches the message of its batch whose number is its msisdn; a later report
    (by completion time, then arrival) wins over an earlier one.
    """
    batches = sorted({b for b in batch_ids if b}) if batch_ids is not None else None
    if batches == []:
        return 0
    rows = await conn.fetch(
        """
        WITH latest AS (
            SELECT DISTINCT ON (r.batch_id, r.msisdn) r.id, r.batch_id, r.msisdn,
                   r.status_code, r.delivery_status, r.completed_at, r.received_at
              FROM delivery_reports r
             WHERE r.applied_at IS NULL
               AND ($1::text[] IS NULL OR r.batch_id = ANY($1::text[]))
             ORDER BY r.batch_id, r.msisdn, r.completed_at DESC NULLS LAST, r.id DESC),
        matched AS (
            UPDATE messages m
               SET delivery_code = l.status_code,
                   delivery_status = l.delivery_status,
                   delivered_at = coalesce(l.completed_at, l.received_at),
                   updated_at = now()
              FROM latest l
             WHERE m.batch_id = l.batch_id
               AND regexp_replace(m.recipient, '[^0-9]', '', 'g')
                   = regexp_replace(l.msisdn, '[^0-9]', '', 'g')
            RETURNING l.batch_id, l.msisdn)
        UPDATE delivery_reports r SET applied_at = now()
          FROM matched
         WHERE r.applied_at IS NULL AND r.batch_id = matched.batch_id
           AND r.msisdn = matched.msisdn
        RETURNING r.id
        """,
        batches,
    )
    return len(rows)
