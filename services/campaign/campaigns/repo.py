"""SQL of campaigns: creation, history, recipients, and the operator's controls."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from shared import ledger
from shared.db import Connection, Pool, bounded, record_to_dict
from shared.vocabulary import CampaignStatus

CAMPAIGN_COLUMNS = (
    "id, recipient_type, filters, send_to, subject, message, template_id, status, created_at,"
    " updated_at, started_at, finished_at, resolved_at, recipients_total, total, request,"
    " failed_reason"
)


async def find_by_idempotency_key(conn: Connection | Pool, key: str) -> dict[str, Any] | None:
    """The campaign created with this Idempotency-Key, with its request hash."""
    row = await conn.fetchrow(
        f"SELECT {CAMPAIGN_COLUMNS}, request_hash, partner_id FROM campaigns"
        " WHERE idempotency_key = $1",
        key,
    )
    return record_to_dict(row) if row else None


async def insert_campaign(
    conn: Connection,
    *,
    request: dict[str, Any],
    message: str,
    idempotency_key: str | None,
    request_hash: str,
    partner_id: int | None = None,
) -> dict[str, Any] | None:
    """Insert a campaign; None when another request with the same idempotency key won."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO campaigns (recipient_type, filters, send_to, request, subject, message,
                               template_id, idempotency_key, request_hash, partner_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING {CAMPAIGN_COLUMNS}
        """,
        request["recipient_type"],
        request["filters"],
        request["send_to"],
        request,
        request["subject"],
        message,
        request["template_id"],
        idempotency_key,
        request_hash,
        partner_id,
    )
    return record_to_dict(row) if row else None


async def get_campaign(pool: Pool, campaign_id: int) -> dict[str, Any] | None:
    """One campaign with ``counts`` of its messages per status."""
    row = await pool.fetchrow(
        f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1", campaign_id
    )
    if row is None:
        return None
    campaign = record_to_dict(row)
    counts = await pool.fetch(
        "SELECT status, count(*) AS n FROM messages WHERE campaign_id = $1 GROUP BY status",
        campaign_id,
    )
    campaign["counts"] = {r["status"]: r["n"] for r in counts}
    return campaign


async def list_campaigns(
    pool: Pool,
    *,
    status: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
    partner_id: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """History, newest first; removed campaigns only when asked for by status; only the
    partner's campaigns when ``partner_id`` is given."""
    conditions: list[str] = []
    args: list[Any] = []

    def add(sql: str, value: Any) -> None:
        args.append(value)
        conditions.append(sql.format(f"${len(args)}"))

    if partner_id is not None:
        add("partner_id = {}", partner_id)
    if status:
        add("status = {}", status)
    else:
        conditions.append("status <> 'removed'")
    if start is not None:
        add("created_at >= {}", start)
    if end is not None:
        add("created_at < {}", end)
    where = " AND ".join(conditions) or "true"
    async with bounded(pool) as conn:
        rows = await conn.fetch(
            f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE {where}"
            f" ORDER BY created_at DESC, id DESC LIMIT {int(limit)} OFFSET {int(offset)}",
            *args,
        )
        total = await conn.fetchval(f"SELECT count(*) FROM campaigns WHERE {where}", *args)
        campaigns = [record_to_dict(r) for r in rows]
        counts = await conn.fetch(
            "SELECT campaign_id, status, count(*) AS n FROM messages"
            " WHERE campaign_id = ANY($1::bigint[]) GROUP BY campaign_id, status",
            [c["id"] for c in campaigns],
        )
    by_campaign: dict[int, dict[str, int]] = {}
    for row in counts:
        by_campaign.setdefault(row["campaign_id"], {})[row["status"]] = row["n"]
    for campaign in campaigns:
        campaign["counts"] = by_campaign.get(campaign["id"], {})
    return campaigns, total


async def recipients(
    pool: Pool, campaign_id: int, status: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One row per message of the campaign, with the person's login and name."""
    where = "m.campaign_id = $1"
    args: list[Any] = [campaign_id]
    if status:
        where += " AND m.status = $2"
        args.append(status)
    rows = await pool.fetch(
        "SELECT m.customer_id AS id, p.login, p.full_name, m.recipient AS to, m.status,"
        " m.error, m.sent_at, m.id AS message_id, m.channel"
        " FROM messages m LEFT JOIN people p"
        "   ON p.kind = m.recipient_kind AND p.id = m.customer_id"
        f" WHERE {where} ORDER BY m.customer_id, m.id LIMIT {int(limit)} OFFSET {int(offset)}",
        *args,
    )
    total = await pool.fetchval(f"SELECT count(*) FROM messages m WHERE {where}", *args)
    return [record_to_dict(r) for r in rows], total


async def recipient_messages(
    pool: Pool, campaign_id: int, customer_id: int
) -> list[dict[str, Any]]:
    """The messages one person got from a campaign (one per address), with their text."""
    rows = await pool.fetch(
        "SELECT id, channel, recipient AS to, subject, text, status, error, sent_at"
        " FROM messages WHERE campaign_id = $1 AND customer_id = $2 ORDER BY id",
        campaign_id,
        customer_id,
    )
    return [record_to_dict(r) for r in rows]


async def cancel(conn: Connection, campaign_id: int, *, remove: bool) -> str | None:
    """Cancel (or remove) a campaign: every message not yet handed to a gateway becomes
    ``cancelled`` at once, so no sender will claim it. Returns the previous status."""
    previous = await lock_status(conn, campaign_id)
    if previous is None:
        return None
    await ledger.cancel_campaign_messages(conn, campaign_id)
    if remove:
        await conn.execute(
            "UPDATE campaigns SET status = 'removed', status_before_removal ="
            " CASE WHEN status = 'removed' THEN status_before_removal ELSE status END,"
            " finished_at = coalesce(finished_at, now()), updated_at = now() WHERE id = $1",
            campaign_id,
        )
    else:
        await conn.execute(
            "UPDATE campaigns SET status = 'cancelled', finished_at = now(), updated_at = now()"
            " WHERE id = $1",
            campaign_id,
        )
    return previous


async def lock_status(conn: Connection, campaign_id: int) -> CampaignStatus | None:
    """A campaign's status, locked until the caller's transaction ends; None: no campaign."""
    status = await conn.fetchval(
        "SELECT status FROM campaigns WHERE id = $1 FOR UPDATE", campaign_id
    )
    return cast(CampaignStatus, status) if status is not None else None


async def set_status(conn: Connection, campaign_id: int, status: CampaignStatus) -> None:
    """Give a campaign (locked with :func:`lock_status`) a new status."""
    await conn.execute(
        "UPDATE campaigns SET status = $2, updated_at = now() WHERE id = $1", campaign_id, status
    )


async def close_if_done(conn: Connection, campaign_id: int) -> None:
    """Close a resumed campaign whose messages all finished while it was paused."""
    await ledger.close_finished_campaigns(conn, [campaign_id])
