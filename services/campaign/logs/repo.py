"""SQL of the message logs (the ledger, read) and of dead letters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.campaign.logs.answers import SmsLogDetail, SmsLogEntry
from shared.db import Pool, bounded, record_to_dict

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


def where_of(query: LogQuery) -> tuple[str, list[Any]]:
    """The WHERE condition of a log query over `messages`, and its arguments."""
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
    # The message's campaign belongs to the partner, or (a test send, a campaign of no
    # partner) its person does. Uncorrelated IN lists: the planner hashes each once per query,
    # not one subquery per row.
    add(
        "(campaign_id IN (SELECT id FROM campaigns WHERE partner_id = {0})"
        " OR ((campaign_id IS NULL OR campaign_id IN"
        " (SELECT id FROM campaigns WHERE partner_id IS NULL))"
        " AND (recipient_kind, customer_id) IN"
        " (SELECT kind, id FROM people WHERE partner_id = {0})))",
        query.partner_id,
    )
    return " AND ".join(conditions), args


async def list_messages(
    pool: Pool, query: LogQuery, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the log, newest first, and how many rows match."""
    where, args = where_of(query)
    async with bounded(pool) as conn:
        rows = await conn.fetch(
            f"SELECT {LOG_COLUMNS} FROM messages WHERE {where}"
            f" ORDER BY added_at DESC, id DESC LIMIT {int(limit)} OFFSET {int(offset)}",
            *args,
        )
        total = await conn.fetchval(f"SELECT count(*) FROM messages WHERE {where}", *args)
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
    async with bounded(pool) as conn:
        rows = await conn.fetch(
            "SELECT id, source, reason, encode(body, 'escape') AS body, headers, received_at"
            f" FROM dead_letters ORDER BY id DESC LIMIT {int(limit)} OFFSET {int(offset)}"
        )
        total = await conn.fetchval("SELECT count(*) FROM dead_letters")
    return [record_to_dict(r) for r in rows], total
