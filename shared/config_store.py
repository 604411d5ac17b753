"""Settings documents kept in Postgres (SMS gateway, company), announced on change."""

from __future__ import annotations

from typing import Any

from shared.db import Pool
from shared.models import CompanyInfo, SmsConfig
from shared.topology import CONFIG_CHANNEL

SMS = "sms"
COMPANY = "company"


async def load(pool: Pool, name: str) -> dict[str, Any] | None:
    """The stored document, or None when it was never saved."""
    value: dict[str, Any] | None = await pool.fetchval(
        "SELECT value FROM settings WHERE name = $1", name
    )
    return value


async def save(pool: Pool, name: str, value: dict[str, Any]) -> None:
    """Store a document and tell every listening process (NOTIFY is sent on commit)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO settings (name, value) VALUES ($1, $2)"
            " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
            name,
            value,
        )
        await conn.execute("SELECT pg_notify($1, $2)", CONFIG_CHANNEL, name)


async def load_company(pool: Pool) -> dict[str, Any]:
    """The ``company`` template variable: the operator's details (blank until configured)."""
    return CompanyInfo.model_validate(await load(pool, COMPANY) or {}).model_dump()


async def load_sms(pool: Pool) -> SmsConfig | None:
    """The SMS gateway configuration, or None when it was never configured."""
    value = await load(pool, SMS)
    return SmsConfig.model_validate(value) if value is not None else None
