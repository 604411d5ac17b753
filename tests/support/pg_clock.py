"""A Postgres connection whose ``now()`` and ``clock_timestamp()`` are set by the test.

Leases and rate limits are computed in SQL from the database's clock. A schema holding its
own ``now()`` and ``clock_timestamp()``, put ahead of ``pg_catalog`` in the connection's
search path, shadows the built-ins: the application's statements run unchanged at the
times the test chooses, with no sleep to let a lease run out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import cast

import asyncpg

from shared.db import Pool

SCHEMA = "fixed_clock"
SETTING = "herald_test.now"
_FUNCTIONS = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE OR REPLACE FUNCTION {SCHEMA}.now() RETURNS timestamptz LANGUAGE sql STABLE
    AS $$ SELECT current_setting('{SETTING}')::timestamptz $$;
CREATE OR REPLACE FUNCTION {SCHEMA}.clock_timestamp() RETURNS timestamptz LANGUAGE sql VOLATILE
    AS $$ SELECT current_setting('{SETTING}')::timestamptz $$;
"""


class FixedClock:
    """One connection at a settable time; ``pool`` hands it to code that wants a pool."""

    def __init__(self, conn: asyncpg.Connection[asyncpg.Record], now: datetime) -> None:
        self.conn = conn
        self.now = now

    def __repr__(self) -> str:
        return f"FixedClock(now={self.now.isoformat()})"

    @property
    def pool(self) -> Pool:
        # The code under test calls fetch / fetchrow / fetchval / execute, as a connection does.
        return cast(Pool, self.conn)

    async def at(self, moment: datetime) -> None:
        """Set the database's time for this connection."""
        await self.conn.execute("SELECT set_config($1, $2, false)", SETTING, moment.isoformat())
        self.now = moment

    async def advance(self, by: timedelta) -> None:
        await self.at(self.now + by)


@asynccontextmanager
async def fixed_clock(database_url: str, now: datetime) -> AsyncIterator[FixedClock]:
    """A connection to ``database_url`` (already migrated) whose clock reads ``now``."""
    setup = await asyncpg.connect(database_url)
    try:
        await setup.execute(_FUNCTIONS)
    finally:
        await setup.close()
    conn = await asyncpg.connect(
        database_url, server_settings={"search_path": f"{SCHEMA}, pg_catalog, public"}
    )
    try:
        clock = FixedClock(conn, now)
        await clock.at(now)
        # Fail loudly if the shadowing ever stops working (the tests would use the real clock).
        assert await conn.fetchval("SELECT now()") == now
        assert await conn.fetchval("SELECT clock_timestamp()") == now
        yield clock
    finally:
        await conn.close()
