"""SQL of API tokens: stored by hash, looked up by hash, listed and revoked."""

from __future__ import annotations

import hmac
from typing import Any

from services.campaign.http.access import Principal
from services.campaign.tokens.models import TokenView
from shared.db import Connection, Pool, record_to_dict

# The answer model names the columns: the SQL reads what the API shows.
VIEW_COLUMNS = ", ".join(TokenView.model_fields)


async def lookup(pool: Pool, digest: bytes) -> Principal | None:
    """The live token with this hash (noting that it was used), or None."""
    row = await pool.fetchrow(
        "UPDATE api_tokens SET last_used_at = now()"
        " WHERE token_hash = $1 AND revoked_at IS NULL"
        " RETURNING id, role, partner_id, name, token_hash",
        digest,
    )
    if row is None or not hmac.compare_digest(bytes(row["token_hash"]), digest):
        return None
    return Principal(
        token_id=row["id"], role=row["role"], partner_id=row["partner_id"], name=row["name"]
    )


async def insert(
    pool: Connection | Pool,
    name: str,
    role: str,
    partner_id: int | None,
    digest: bytes,
    prefix: str,
) -> dict[str, Any]:
    """Store a new token (its hash only)."""
    row = await pool.fetchrow(
        "INSERT INTO api_tokens (name, role, partner_id, token_hash, prefix)"
        f" VALUES ($1, $2, $3, $4, $5) RETURNING {VIEW_COLUMNS}",
        name,
        role,
        partner_id,
        digest,
        prefix,
    )
    return record_to_dict(row)


async def list_tokens(pool: Pool, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A page of tokens in id order (revoked ones too), and how many there are."""
    rows = await pool.fetch(
        f"SELECT {VIEW_COLUMNS} FROM api_tokens ORDER BY id LIMIT $1 OFFSET $2", limit, offset
    )
    total = await pool.fetchval("SELECT count(*) FROM api_tokens")
    return [record_to_dict(r) for r in rows], total


async def revoke(pool: Connection | Pool, token_id: int) -> bool:
    """Revoke a token (again is fine); False when there is none."""
    found = await pool.fetchval(
        "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING id",
        token_id,
    )
    return found is not None
