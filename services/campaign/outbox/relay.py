"""The outbox relay: events committed with their rows reach the broker, even after a crash."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aio_pika.abc import AbstractExchange

from services.campaign.outbox import repo
from shared.amqp import persistent_message
from shared.db import Pool

log = logging.getLogger(__name__)

BATCH = 100
# Rows left behind by a crash (or a broker outage) are retried at this pace.
IDLE_POLL_SECONDS = 5.0


async def relay_once(pool: Pool, exchange: AbstractExchange) -> int:
    """Publish pending events with confirms, then delete them; returns how many."""
    async with pool.acquire() as conn, conn.transaction():
        events = await repo.take_outbox(conn, BATCH)
        if not events:
            return 0
        # Delete only what the broker confirmed: a crash in between republishes (consumers
        # dedupe), and one event that cannot be published does not hold back the others.
        results = await asyncio.gather(
            *(
                exchange.publish(persistent_message(body), routing_key=key, mandatory=True)
                for _, key, body in events
            ),
            return_exceptions=True,
        )
        confirmed = [
            e[0] for e, r in zip(events, results, strict=True) if not isinstance(r, BaseException)
        ]
        failed = len(events) - len(confirmed)
        if failed:
            log.warning("outbox: %d of %d events not published; will retry", failed, len(events))
        await repo.delete_outbox(conn, confirmed)
        return len(confirmed) if not failed else 0


async def run(pool: Pool, exchange: AbstractExchange, wakeup: asyncio.Event) -> None:
    """Relay until cancelled: at once when woken, otherwise every few seconds."""
    while True:
        wakeup.clear()
        try:
            while await relay_once(pool, exchange) == BATCH:
                pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("outbox relay failed, will retry: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wakeup.wait(), IDLE_POLL_SECONDS)
