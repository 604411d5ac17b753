"""SQL of the console's sessions (``console_sessions``): rows keyed by the SHA-256 of the
cookie value, holding the token digest they act as and their CSRF token."""

from __future__ import annotations

from datetime import timedelta

from shared.db import Pool


async def insert_session(
    pool: Pool, id_hash: bytes, token_hash: bytes, csrf_token: str, lifetime: timedelta
) -> None:
    """Store a new session; sweep rows dead for more than a day first (a sign-in is rare:
    the moment to do it)."""
    await pool.execute("DELETE FROM console_sessions WHERE expires_at < now() - interval '1 day'")
    await pool.execute(
        "INSERT INTO console_sessions (id_hash, token_hash, csrf_token, expires_at)"
        " VALUES ($1, $2, $3, now() + $4::interval)",
        id_hash,
        token_hash,
        csrf_token,
        lifetime,
    )


async def delete_session(pool: Pool, id_hash: bytes) -> None:
    """Forget a session."""
    await pool.execute("DELETE FROM console_sessions WHERE id_hash = $1", id_hash)


async def live_session(pool: Pool, id_hash: bytes) -> tuple[bytes, str] | None:
    """The token digest and CSRF token of a session that has not expired, or None."""
    row = await pool.fetchrow(
        "SELECT token_hash, csrf_token FROM console_sessions"
        " WHERE id_hash = $1 AND expires_at > now()",
        id_hash,
    )
    return (bytes(row["token_hash"]), row["csrf_token"]) if row else None
