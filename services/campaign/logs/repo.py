"""SQL of the message logs (the ledger, read) and of dead letters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.campaign.logs.answers import SmsLogDetail, SmsLogEntry
from shared.db import Pool, record_to_dict

# The answer models name the columns: the SQL reads what the API shows.
LOG_COLUMNS = ", ".join(SmsLogEntry.model_fields)
DETAIL_COLUMNS = ", ".join(SmsLogDetail.model_fields)


@dataclass(frozen=True)
class LogQuery:
    """Which messages of one channel a log page shows (None: any)."""

    channel: str
    since: datetime | None = None
    until: datetime | None = None
    type: str | None = None
    status: str | None = None
    customer_id: int | None = None
    campaign_id: int | None = None
    partner_id: int | None = None


def _where(query: LogQuery) -> tuple[str, list[Any]]:
    conditions, args = ["channel = $1"], [query.channel]

    def add(sql: str, value: Any) -> None:
        if value is not None:
            args.append(value)
            conditions.append(sql.format(f"${len(args)}"))

    add("added_at >= {}", query.since)
    add("added_at < {}", query.until)
    add("type = {}", query.type)
    add("status = {}", query.status)
    add("customer_id = {}", query.customer_id)
    add("campaign_id = {}", query.campaign_id)
    # The message's campaign, or for test sends its person, belongs to the partner.
    add(
        "coalesce((SELECT c.partner_id FROM campaigns c WHERE c.id = messages.campaign_id),"
        " (SELECT p.partner_id FROM people p WHERE p.kind = messages.recipient_kind"
        " AND p.id = messages.customer_id)) = {}",
        query.partner_id,
    )
    return " AND ".join(conditions), args


async def list_messages(
    pool: Pool, query: LogQuery, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the log, newest first, and how many rows match."""
    where, args = _where(query)
    rows = await pool.fetch(
        f"SELECT {LOG_COLUMNS} FROM messages WHERE {where}"
        f" ORDER BY added_at DESC, id DESC LIMIT {int(limit)} OFFSET {int(offset)}",
        *args,
    )
    total = await pool.fetchval(f"SELECT count(*) FROM messages WHERE {where}", *args)
    return [record_to_dict(r) for r in rows], total


async def get_message(pool: Pool, channel: str, message_id: int) -> dict[str, Any] | None:
    """One message of the channel with its text and the gateway's answer, or None."""
    row = await pool.fetchrow(
        f"SELECT {DETAIL_COLUMNS} FROM messages WHERE channel = $1 AND id = $2",
        channel,
        message_id,
    )
    return record_to_dict(row) if row else None


async def dead_letters(pool: Pool, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A page of dead letters, newest first, and how many there are."""
    rows = await pool.fetch(
        "SELECT id, source, reason, encode(body, 'escape') AS body, headers, received_at"
        f" FROM dead_letters ORDER BY id DESC LIMIT {int(limit)} OFFSET {int(offset)}"
    )
    total = await pool.fetchval("SELECT count(*) FROM dead_letters")
    return [record_to_dict(r) for r in rows], total
