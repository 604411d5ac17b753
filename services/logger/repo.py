"""SQL of the logger: outcomes into the ledger (shared with the sender's fallback, see
``shared.ledger.apply_outcomes``), dead letters kept for operators."""

from __future__ import annotations

from typing import Any

from shared.db import Pool
from shared.ledger import apply_outcomes as apply
from shared.ledger import merge

__all__ = ["apply", "merge", "store_dead_letter"]


async def store_dead_letter(
    pool: Pool, source: str, reason: str, body: bytes, headers: dict[str, Any]
) -> None:
    """Keep a dead-lettered message where operators can list it."""
    await pool.execute(
        "INSERT INTO dead_letters (source, reason, body, headers) VALUES ($1, $2, $3, $4)",
        source,
        reason,
        body,
        headers,
    )
