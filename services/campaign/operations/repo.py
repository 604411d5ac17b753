"""SQL of the operational routes: a liveness query and the figures metrics report."""

from __future__ import annotations

from dataclasses import dataclass

from shared.db import Pool


@dataclass(frozen=True)
class Figures:
    """What the ledger and the queues hold, counted at one scrape."""

    messages: dict[tuple[str, str], int]  # (channel, status) → messages
    campaigns: dict[str, int]  # status → campaigns
    dead_letters: int
    outbox_pending: int


async def ping(pool: Pool) -> None:
    """One round trip to the database."""
    await pool.fetchval("SELECT 1")


async def figures(pool: Pool) -> Figures:
    """Messages per channel and status, campaigns per status, dead letters, pending events."""
    messages = await pool.fetch(
        "SELECT channel, status, count(*) AS n FROM messages GROUP BY channel, status"
    )
    campaigns = await pool.fetch("SELECT status, count(*) AS n FROM campaigns GROUP BY status")
    return Figures(
        messages={(r["channel"], r["status"]): r["n"] for r in messages},
        campaigns={r["status"]: r["n"] for r in campaigns},
        dead_letters=await pool.fetchval("SELECT count(*) FROM dead_letters"),
        outbox_pending=await pool.fetchval("SELECT count(*) FROM outbox"),
    )
