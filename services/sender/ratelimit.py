"""One rate limit per gateway shared by every sender process (GCRA slots in Postgres).

Each process reserves a few send slots at a time from a single row: the row's time moves
forward by one emission interval per slot, so slots handed to all processes are spaced at
least ``1 / rate`` apart. A process sleeps until its slot and drops slots it can no longer
use on time, so lateness never bunches requests together. Slots are wall-clock times from the
database's clock: processes on one host share the clock, across hosts NTP keeps them within
a few milliseconds.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from datetime import timedelta

from shared.db import Pool

# A slot used later than this is dropped (it would crowd the next ones).
LATE_TOLERANCE_S = 0.01
MAX_SLOTS_PER_RESERVATION = 50


def slot_offsets(first: float, count: int, interval_s: float) -> list[float]:
    """``count`` consecutive slot times starting at ``first``, ``interval_s`` apart."""
    return [first + i * interval_s for i in range(count)]


class SharedRateLimiter:
    """``await acquire(rate)`` returns when this process may send one request."""

    def __init__(self, pool: Pool, name: str) -> None:
        self.pool = pool
        self.name = name
        self._slots: deque[float] = deque()  # epoch seconds
        self._waiting = 0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<SharedRateLimiter {self.name!r} slots={len(self._slots)} waiting={self._waiting}>"

    async def acquire(self, rate_per_second: float) -> None:
        """Wait for the next slot of the shared limit."""
        while True:
            slot = await self._next_slot(1.0 / rate_per_second)
            delay = slot - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            # Woken too late (a busy loop): sending now would crowd the next slots.
            if time.time() - slot <= LATE_TOLERANCE_S:
                return

    async def _next_slot(self, interval_s: float) -> float:
        while True:
            now = time.time()
            while self._slots and self._slots[0] < now - LATE_TOLERANCE_S:
                self._slots.popleft()
            if self._slots:
                return self._slots.popleft()
            self._waiting += 1
            try:
                async with self._lock:  # one reservation round trip at a time per process
                    if not self._slots:
                        count = max(1, min(self._waiting, MAX_SLOTS_PER_RESERVATION))
                        await self._reserve(count, interval_s)
            finally:
                self._waiting -= 1

    async def _reserve(self, count: int, interval_s: float) -> None:
        row = await self.pool.fetchrow(
            """
            INSERT INTO rate_limits AS r (name, tat)
            VALUES ($1, clock_timestamp() + $2::int * $3::interval)
            ON CONFLICT (name) DO UPDATE
               SET tat = greatest(r.tat, clock_timestamp()) + $2::int * $3::interval
            RETURNING extract(epoch FROM r.tat - $2::int * $3::interval)::float8 AS first
            """,
            self.name,
            count,
            timedelta(seconds=interval_s),
        )
        assert row is not None
        self._slots.extend(slot_offsets(row["first"], count, interval_s))
