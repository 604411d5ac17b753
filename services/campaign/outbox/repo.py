"""SQL of the transactional outbox: events committed with their rows, relayed to the broker."""

from __future__ import annotations

from shared.db import Connection


async def add_outbox(conn: Connection, routing_key: str, body: bytes) -> None:
    """Queue an event for the broker, inside the caller's transaction."""
    await conn.execute("INSERT INTO outbox (routing_key, body) VALUES ($1, $2)", routing_key, body)


async def take_outbox(conn: Connection, limit: int) -> list[tuple[int, str, bytes]]:
    """Lock up to ``limit`` pending events (skipping those another relay holds)."""
    rows = await conn.fetch(
        "SELECT id, routing_key, body FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit,
    )
    return [(r["id"], r["routing_key"], r["body"]) for r in rows]


async def delete_outbox(conn: Connection, ids: list[int]) -> None:
    """Forget events the broker has confirmed."""
    await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", ids)
