"""SQL of the resolver: campaigns to resolve, people in id order, ledger rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.resolver.domain import Row
from shared import ledger
from shared.db import Pool, record_to_dict
from shared.filters import where_clause
from shared.models import Filters, RecipientType

OPEN_STATUSES = ("new", "processing")


async def load_campaign(pool: Pool, campaign_id: int) -> dict[str, Any] | None:
    """The campaign, or None."""
    row = await pool.fetchrow(
        "SELECT id, recipient_type, filters, send_to, subject, message, status, created_at,"
        " resolve_cursor, resolved_at FROM campaigns WHERE id = $1",
        campaign_id,
    )
    return record_to_dict(row) if row else None


async def start(pool: Pool, campaign_id: int) -> bool:
    """Mark the campaign processing; False when it is no longer open (cancelled, removed)."""
    status = await pool.fetchval(
        "UPDATE campaigns SET status = CASE WHEN status = 'new' THEN 'processing' ELSE status END,"
        " started_at = coalesce(started_at, now()), updated_at = now()"
        " WHERE id = $1 AND status = ANY($2::text[]) AND resolved_at IS NULL RETURNING status",
        campaign_id,
        list(OPEN_STATUSES),
    )
    return status is not None


async def people_after(
    pool: Pool, kind: RecipientType, filters: Filters, cursor: int | None, limit: int
) -> list[dict[str, Any]]:
    """The next ``limit`` matching people with an id above ``cursor`` (keyset paging)."""
    where, args = where_clause(kind, filters, start=3)
    rows = await pool.fetch(
        "SELECT id, login, status, full_name, email, billing_email, phone, category,"
        " location_id, partner_id, billing_type, services, attributes"
        f" FROM people WHERE id > $1 AND {where} ORDER BY id LIMIT $2",
        cursor if cursor is not None else -1,
        limit,
        *args,
    )
    return [record_to_dict(r) for r in rows]


async def store_rows(
    pool: Pool,
    campaign_id: int,
    kind: RecipientType,
    channel: str,
    rows: list[Row],
    expires_at: datetime,
) -> tuple[int, list[tuple[int, str, str]]]:
    """Insert the rows (existing ones are kept). Returns how many rows these people have,
    and every still-new one as (id, recipient, text): the jobs to publish, including any
    that a crash left unpublished.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """
            INSERT INTO messages (channel, campaign_id, recipient_kind, customer_id, recipient,
                                  text, status, error, expires_at)
            SELECT $1, $2, $3, r.customer_id, r.recipient, r.text, r.status, r.error, $4
              FROM unnest($5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[])
                AS r(customer_id, recipient, text, status, error)
            ON CONFLICT (campaign_id, customer_id, channel, recipient)
               WHERE campaign_id IS NOT NULL DO NOTHING
            """,
            channel,
            campaign_id,
            kind,
            expires_at,
            [r.customer_id for r in rows],
            [r.recipient for r in rows],
            [r.text for r in rows],
            [r.status for r in rows],
            [r.error for r in rows],
        )
        stored = await conn.fetch(
            "SELECT id, recipient, text, status FROM messages"
            " WHERE campaign_id = $1 AND channel = $2 AND customer_id = ANY($3::bigint[])"
            " ORDER BY id",
            campaign_id,
            channel,
            sorted({r.customer_id for r in rows}),
        )
    pending = [(r["id"], r["recipient"], r["text"]) for r in stored if r["status"] == "new"]
    return len(stored), pending


async def advance(
    pool: Pool, campaign_id: int, since: int | None, cursor: int, people: int, messages: int
) -> tuple[bool, int | None]:
    """Move the resume cursor from ``since`` past a published batch.

    Returns (open, cursor): whether the campaign is still open, and the cursor to go on
    from. The counters move in the same statement as the cursor, and only if nobody moved
    it since we read it, so a batch replayed after a crash, or resolved by two resolvers
    at once, is counted once.
    """
    status = await pool.fetchval(
        "UPDATE campaigns SET resolve_cursor = $2, recipients_total = recipients_total + $3,"
        " total = total + $4, updated_at = now()"
        " WHERE id = $1 AND resolve_cursor IS NOT DISTINCT FROM $5 RETURNING status",
        campaign_id,
        cursor,
        people,
        messages,
        since,
    )
    if status is not None:
        return status in OPEN_STATUSES, cursor
    row = await pool.fetchrow(
        "SELECT status, resolve_cursor FROM campaigns WHERE id = $1", campaign_id
    )
    if row is None:
        return False, None
    return row["status"] in OPEN_STATUSES, row["resolve_cursor"]


async def finish(pool: Pool, campaign_id: int) -> bool:
    """Record that resolution is complete, and close the campaign if nothing is pending."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE campaigns SET resolved_at = coalesce(resolved_at, now()), updated_at = now()"
            " WHERE id = $1",
            campaign_id,
        )
        return bool(await ledger.close_finished_campaigns(conn, [campaign_id]))


async def new_messages_after(
    pool: Pool, campaign_id: int, after_id: int, limit: int
) -> list[tuple[int, str, str, datetime]]:
    """Messages of a campaign still ``new``, in id order after ``after_id`` (keyset paging)."""
    rows = await pool.fetch(
        "SELECT id, recipient, text, expires_at FROM messages"
        " WHERE campaign_id = $1 AND status = 'new' AND id > $2 ORDER BY id LIMIT $3",
        campaign_id,
        after_id,
        limit,
    )
    return [(r["id"], r["recipient"], r["text"], r["expires_at"]) for r in rows]
