"""SQL of the resolver: campaigns to resolve, people in id order, ledger rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.resolver.domain import Row
from shared import ledger, vocabulary
from shared.db import Pool, record_to_dict
from shared.filters import where_clause
from shared.models import Filters, RecipientType


async def load_campaign(pool: Pool, campaign_id: int) -> dict[str, Any] | None:
    """The campaign, or None."""
    row = await pool.fetchrow(
        "SELECT id, recipient_type, filters, send_to, subject, message, status, created_at,"
        " resolve_cursor, resolved_at, request FROM campaigns WHERE id = $1",
        campaign_id,
    )
    return record_to_dict(row) if row else None


async def start(pool: Pool, campaign_id: int) -> bool:
    """Mark the campaign processing; False when it is no longer open (cancelled, removed)."""
    # An open campaign the resolver has not taken yet makes the ``start`` move; one it took
    # before (a replay after a crash) stays where it is.
    status = await pool.fetchval(
        "UPDATE campaigns SET status = CASE WHEN status = ANY($3::text[]) THEN $4 ELSE status END,"
        " started_at = coalesce(started_at, now()), updated_at = now()"
        " WHERE id = $1 AND status = ANY($2::text[]) AND resolved_at IS NULL RETURNING status",
        campaign_id,
        list(vocabulary.OPEN),
        list(vocabulary.sources_of("start")),
        vocabulary.target_of("start"),
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


@dataclass(frozen=True, slots=True)
class Pending:
    """A ledger row still to be sent: what its job carries."""

    id: int
    channel: str
    recipient: str
    text: str
    expires_at: datetime


_SELECT_ROWS = (
    "SELECT id, channel, recipient, text, status, expires_at FROM messages"
    " WHERE campaign_id = $1 AND customer_id = ANY($2::bigint[]) ORDER BY id"
)


async def store_rows(
    pool: Pool,
    campaign_id: int,
    kind: RecipientType,
    rows: list[Row],
    expires_at: dict[str, datetime],
) -> tuple[int, list[Pending]]:
    """Insert the rows (existing ones are kept). Returns how many rows these people have,
    and every still-new one: the jobs to publish, including any that a crash left
    unpublished.
    """
    stored = await ledger.insert_campaign_rows(pool, campaign_id, kind, rows, expires_at)
    if sum(1 for r in stored if r["fresh"]) < len(rows):
        # Some rows existed (a replay, or another resolver on the same batch): read them all
        # again in a new snapshot, which also sees rows that a concurrent resolver committed
        # while our insert waited on them.
        stored = await pool.fetch(_SELECT_ROWS, campaign_id, sorted({r.customer_id for r in rows}))
    pending = [
        Pending(r["id"], r["channel"], r["recipient"], r["text"], r["expires_at"])
        for r in stored
        if r["status"] == "new"
    ]
    return len(stored), pending


async def documents_for(
    pool: Pool, customer_ids: list[int], types: list[str]
) -> dict[int, list[int]]:
    """The financial documents to attach, per customer: unpaid invoices and proforma
    invoices (any date), and payments of the last 30 days."""
    if not types:
        return {}
    rows = await pool.fetch(
        """
        SELECT customer_id, id FROM documents
         WHERE customer_id = ANY($1::bigint[]) AND type = ANY($2::text[])
           AND ((type IN ('invoice', 'proforma_invoice') AND status <> 'paid')
                OR (type = 'payment' AND date >= current_date - 30))
         ORDER BY customer_id, date, id
        """,
        customer_ids,
        types,
    )
    found: dict[int, list[int]] = {}
    for row in rows:
        found.setdefault(row["customer_id"], []).append(row["id"])
    return found


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
        return status in vocabulary.OPEN, cursor
    row = await pool.fetchrow(
        "SELECT status, resolve_cursor FROM campaigns WHERE id = $1", campaign_id
    )
    if row is None:
        return False, None
    return row["status"] in vocabulary.OPEN, row["resolve_cursor"]


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
) -> list[Pending]:
    """Messages of a campaign still ``new``, in id order after ``after_id`` (keyset paging)."""
    rows = await pool.fetch(
        "SELECT id, channel, recipient, text, expires_at FROM messages"
        " WHERE campaign_id = $1 AND status = 'new' AND id > $2 ORDER BY id LIMIT $3",
        campaign_id,
        after_id,
        limit,
    )
    return [
        Pending(r["id"], r["channel"], r["recipient"], r["text"], r["expires_at"]) for r in rows
    ]


async def fail(pool: Pool, campaign_id: int, reason: str) -> bool:
    """Fail a campaign that can never be resolved, saying why; its messages not yet handed
    to a gateway are cancelled. False when it was no longer open (cancelled meanwhile)."""
    async with pool.acquire() as conn, conn.transaction():
        failed = await conn.fetchval(
            "UPDATE campaigns SET status = $3, failed_reason = $2, finished_at = now(),"
            " updated_at = now() WHERE id = $1 AND status = ANY($4::text[]) RETURNING id",
            campaign_id,
            reason,
            vocabulary.target_of("fail"),
            list(vocabulary.sources_of("fail")),
        )
        if failed is None:
            return False
        await ledger.cancel_campaign_messages(conn, campaign_id, "campaign failed")
        return True
