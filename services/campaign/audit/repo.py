"""SQL of the audit trail: one row per change, written in the change's transaction."""

from __future__ import annotations

from typing import Any

from services.campaign.audit.models import AuditEntry
from shared.db import Connection, Pool, fetch_page

COLUMNS = ", ".join(AuditEntry.model_fields)


async def record(
    conn: Connection, token_id: int | None, kind: str, action: str, object_id: str
) -> None:
    """Note one change (in the caller's transaction: it commits or rolls back with it)."""
    await conn.execute(
        "INSERT INTO audit_log (token_id, kind, action, object_id) VALUES ($1, $2, $3, $4)",
        token_id,
        kind,
        action,
        object_id,
    )


async def entries(
    pool: Pool, kind: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the trail, newest first (one kind when given), and how many rows match."""
    where = "$1::text IS NULL OR kind = $1"
    return await fetch_page(
        pool,
        f"SELECT {COLUMNS} FROM audit_log WHERE {where} ORDER BY id DESC LIMIT $2 OFFSET $3",
        f"SELECT count(*) FROM audit_log WHERE {where}",
        [kind],
        limit,
        offset,
    )
