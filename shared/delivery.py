"""Delivery reports (BulkSMS status codes) and applying them to the ledger."""

from __future__ import annotations

from datetime import datetime

from shared import ledger
from shared.db import Connection
from shared.vocabulary import DeliveryStatus

_PENDING = {0, 10, 12, 64}
_FAILED = {22, 23, 24, 25, 26, 27, 28, 29, 31, 32, 33, 50, 51, 52, 54, 55, 56, 57}


def delivery_status(code: int) -> DeliveryStatus:
    """What a BulkSMS per-message status code says about delivery
    (``../shared/docs/domain.md`` section 3)."""
    if code == 11:
        return "delivered"
    if code == 53:
        return "expired"
    if code in _PENDING:
        return "pending"
    if code in _FAILED:
        return "failed"
    return "unknown"


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
    return await ledger.apply_reports(conn, [batch_id]) > 0
