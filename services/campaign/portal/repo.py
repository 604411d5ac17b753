"""SQL of the customer portal inbox."""

from __future__ import annotations

from typing import Any

from services.campaign.portal.models import PortalMessage
from shared.db import Pool, fetch_page, record_to_dict

# The answer model names the columns: the SQL reads what the API shows.
COLUMNS = ", ".join(PortalMessage.model_fields)
# The inbox is a customer's: a lead with the same id has messages of its own.
CUSTOMER = "recipient_kind = 'customer' AND customer_id = $1"


async def inbox(
    pool: Pool, customer_id: int, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of a customer's portal messages, newest first, and how many there are."""
    return await fetch_page(
        pool,
        f"SELECT {COLUMNS} FROM portal_messages WHERE {CUSTOMER}"
        " ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
        f"SELECT count(*) FROM portal_messages WHERE {CUSTOMER}",
        [customer_id],
        limit,
        offset,
    )


async def mark_read(pool: Pool, customer_id: int, message_id: int) -> dict[str, Any] | None:
    """Mark one of a customer's messages read (the first time counts); None: no such message."""
    row = await pool.fetchrow(
        "UPDATE portal_messages SET read_at = coalesce(read_at, now())"
        f" WHERE {CUSTOMER} AND id = $2 RETURNING {COLUMNS}",
        customer_id,
        message_id,
    )
    return record_to_dict(row) if row else None
