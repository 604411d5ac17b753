"""Delivery reports (BulkSMS status codes) and applying them to the ledger."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from shared.db import Connection

DeliveryStatus = Literal["pending", "delivered", "failed", "expired", "unknown"]

_PENDING = {0, 10, 12, 64}
_FAILED = {22, 23, 24, 25, 26, 27, 28, 29, 31, 32, 33, 50, 51, 52, 54, 55, 56, 57}


def delivery_status(code: int) -> DeliveryStatus:
    """What a BulkSMS per-message status code says about delivery (domain.md section 3)."""
    if code == 11:
        return "delivered"
    if code == 53:
        return "expired"
    if code in _PENDING:
        return "pending"
    if code in _FAILED:
        return "failed"
    return "unknown"


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


async def store_report(
    conn: Connection, batch_id: str, msisdn: str, code: int, completed_at: datetime | None
) -> bool:
    """Keep one report and apply it if its message is known; True when it was applied."""
    await conn.execute(
        "INSERT INTO delivery_reports (batch_id, msisdn, status_code, delivery_status,"
        " completed_at) VALUES ($1, $2, $3, $4, $5)",
        batch_id,
        msisdn,
        code,
        delivery_status(code),
        completed_at,
    )
    return await apply_reports(conn, [batch_id]) > 0
