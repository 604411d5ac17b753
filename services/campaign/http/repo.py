"""SQL of the HTTP plumbing: who owns the object a path names, and the per-token rate."""

from __future__ import annotations

from datetime import timedelta

from services.campaign.http.rules import Subject
from shared.db import Pool

PERIOD = timedelta(minutes=1)

OWNER_SQL: dict[Subject, str] = {
    "customer": "SELECT partner_id FROM people WHERE kind = 'customer' AND id = $1",
    "lead": "SELECT partner_id FROM people WHERE kind = 'lead' AND id = $1",
    "campaign": "SELECT partner_id FROM campaigns WHERE id = $1",
    # A message belongs to its campaign's partner, or (without one) to its person's.
    **{
        channel: "SELECT coalesce(c.partner_id, p.partner_id) FROM messages m"
        " LEFT JOIN campaigns c ON c.id = m.campaign_id"
        " LEFT JOIN people p ON p.kind = m.recipient_kind AND p.id = m.customer_id"
        f" WHERE m.id = $1 AND m.channel = '{channel}'"
        for channel in ("sms", "email")
    },
}


async def owner(pool: Pool, subject: Subject, object_id: int) -> tuple[bool, int | None]:
    """Whether the object exists, and the partner it belongs to (None: no partner)."""
    rows = await pool.fetch(OWNER_SQL[subject], object_id)
    return (True, rows[0][0]) if rows else (False, None)


async def take(pool: Pool, name: str, rate: float) -> float:
    """Take one request from ``name``'s budget: 0 if allowed, else the seconds to wait.

    GCRA: the row holds the theoretical arrival time (tat) of the next request; a request is
    allowed while it does not push tat more than one period ahead of now.
    """
    interval = PERIOD / rate
    allowed = await pool.fetchval(
        """
        INSERT INTO rate_limits AS r (name, tat) VALUES ($1, now() + $2::interval)
        ON CONFLICT (name) DO UPDATE SET tat = greatest(r.tat, now()) + $2::interval
            WHERE greatest(r.tat, now()) + $2::interval <= now() + $3::interval
        RETURNING true
        """,
        name,
        interval,
        PERIOD,
    )
    if allowed:
        return 0.0
    wait = await pool.fetchval(
        "SELECT extract(epoch FROM tat + $2::interval - $3::interval - now())::float8"
        " FROM rate_limits WHERE name = $1",
        name,
        interval,
        PERIOD,
    )
    return max(float(wait or 0.0), 0.001)
