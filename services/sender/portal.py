"""The portal driver: the message lands in the customer's portal inbox (Postgres)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from services.sender import repo
from services.sender.drivers import Delivery, Job
from services.sender.ratelimit import SharedRateLimiter
from shared.db import Pool
from shared.verdicts import Classification

# Inserting a row needs no connection limit beyond the pool's.
_CAPACITY = 16


class PortalDriver:
    """Stores one inbox message per job, idempotently (unique per ledger id)."""

    channel = "portal"

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.limiter = SharedRateLimiter(pool, "portal")
        self._capacity = asyncio.Semaphore(_CAPACITY)

    def __repr__(self) -> str:
        return f"<PortalDriver capacity={_CAPACITY} {self.limiter!r}>"

    def usable(self) -> bool:
        return True

    @property
    def capacity(self) -> asyncio.Semaphore:
        return self._capacity

    @property
    def batch_limit(self) -> int:
        return _CAPACITY

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=60)

    @property
    def rate_per_second(self) -> float | None:
        return None

    def redact(self, text: str) -> str:
        return text

    async def deliver(self, job: Job) -> Delivery:
        stored = await repo.store_portal_message(self.pool, job.message_id)
        if not stored:
            return Delivery(Classification("permanent", "message not found", None, None))
        return Delivery(Classification("sent", "stored in the portal inbox", None, None))

    async def paused_by(self, delivery: Delivery, now: datetime) -> None:
        return None
