"""Settings documents kept in Postgres (SMS gateway, company), announced on change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.db import Connection, Pool
from shared.encryption import sealer
from shared.models import CompanyInfo, EmailConfig, SmsConfig
from shared.topology import CONFIG_NOTIFY

SMS = "sms"
EMAIL = "email"
COMPANY = "company"
# Set by a sender when the gateway refuses everything (auth, credit, quota); cleared by an
# operator (resume, or a new configuration) or, for a daily quota, at its "until".
SMS_PAUSE = "sms_pause"
# Documents that hold credentials: sealed at rest when HERALD_SECRET_KEY is set.
SECRET = frozenset({SMS, EMAIL})


async def load(pool: Pool, name: str) -> dict[str, Any] | None:
    """The stored document, or None when it was never saved."""
    value: dict[str, Any] | None = await pool.fetchval(
        "SELECT value FROM settings WHERE name = $1", name
    )
    if value is not None and name in SECRET:
        return sealer().open(value)
    return value


async def save(pool: Pool, name: str, value: dict[str, Any]) -> None:
    """Store a document and tell every listening process (NOTIFY is sent on commit)."""
    async with pool.acquire() as conn, conn.transaction():
        await save_in(conn, name, value)


async def save_in(conn: Connection, name: str, value: dict[str, Any]) -> None:
    """:func:`save` inside the caller's transaction (with its audit row, say)."""
    await conn.execute(
        "INSERT INTO settings (name, value) VALUES ($1, $2)"
        " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
        name,
        sealer().seal(value) if name in SECRET else value,
    )
    await conn.execute("SELECT pg_notify($1, $2)", CONFIG_NOTIFY, name)


async def reseal_all(pool: Pool) -> int:
    """Seal every credential document again with the first key; how many there were."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT name, value FROM settings WHERE name = ANY($1::text[]) FOR UPDATE",
            sorted(SECRET),
        )
        for row in rows:
            await conn.execute(
                "UPDATE settings SET value = $2, updated_at = now() WHERE name = $1",
                row["name"],
                sealer().reseal(row["value"]),
            )
    return len(rows)


async def load_company(pool: Pool) -> dict[str, Any]:
    """The ``company`` template variable: the operator's details (blank until configured)."""
    return CompanyInfo.model_validate(await load(pool, COMPANY) or {}).model_dump()


async def load_email(pool: Pool) -> EmailConfig | None:
    """The SMTP server configuration, or None when it was never configured."""
    value = await load(pool, EMAIL)
    return EmailConfig.model_validate(value) if value is not None else None


async def load_sms(pool: Pool) -> SmsConfig | None:
    """The SMS gateway configuration, or None when it was never configured."""
    value = await load(pool, SMS)
    return SmsConfig.model_validate(value) if value is not None else None


async def pause_sms(pool: Pool, reason: str, until: datetime | None) -> None:
    """Pause SMS sending for every sender (the first pause's reason and time are kept)."""
    value = {
        "reason": reason,
        "since": datetime.now(UTC).isoformat(),
        "until": until.isoformat() if until else None,
    }
    async with pool.acquire() as conn, conn.transaction():
        inserted = await conn.fetchval(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"
            " RETURNING 1",
            SMS_PAUSE,
            value,
        )
        if inserted:
            await conn.execute("SELECT pg_notify($1, $2)", CONFIG_NOTIFY, SMS_PAUSE)


async def resume_sms(pool: Pool) -> bool:
    """Lift a pause; False if sending was not paused."""
    async with pool.acquire() as conn, conn.transaction():
        deleted = await conn.fetchval("DELETE FROM settings WHERE name = $1 RETURNING 1", SMS_PAUSE)
        await conn.execute("SELECT pg_notify($1, $2)", CONFIG_NOTIFY, SMS_PAUSE)
        return bool(deleted)


async def sms_pause(pool: Pool) -> dict[str, Any] | None:
    """The current pause (reason, since, until), or None; an elapsed one counts as none."""
    pause = await load(pool, SMS_PAUSE)
    if pause and pause.get("until") and datetime.fromisoformat(pause["until"]) <= datetime.now(UTC):
        return None
    return pause
