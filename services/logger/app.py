"""Wiring of the logger: one consumer feeding a batch writer."""

from __future__ import annotations

import asyncio
import contextlib
import functools

from services.logger.handlers import BatchWriter, keep_dead_letter
from shared import amqp, db, service, topology
from shared.settings import Settings

EVENTS_IN_HAND = 64


async def main(settings: Settings, stop: asyncio.Event) -> None:
    """Write outcome events into Postgres until ``stop`` is set."""
    pool = await db.open_database(settings.database_url, max_size=4)
    connection = await amqp.connect(settings.amqp_url, name="herald-logger")
    # Events in hand, not outcomes: a sender's event holds up to 1,000 outcomes, so a few
    # dozen fill two batches (one being written while the next fills) in a backlog.
    channel, _ = await amqp.open_channel(connection, prefetch=EVENTS_IN_HAND)
    writer = BatchWriter(
        pool, channel, settings.logger_batch_size, settings.logger_batch_wait_ms / 1000
    )
    queue = await topology.get_queue(channel, topology.OUTCOME_QUEUE)
    tag = await queue.consume(writer.on_message)
    task = asyncio.create_task(writer.run())
    # Its own channel: the writer acks its batches with `multiple`, which must never cover a
    # dead letter still being stored.
    dead_channel, _ = await amqp.open_channel(connection, prefetch=16)
    dead_queue = await topology.get_queue(dead_channel, topology.DEAD_LETTER_QUEUE)
    dead_tag = await dead_queue.consume(functools.partial(keep_dead_letter, pool))
    service.ready("logger", f"consuming {topology.OUTCOME_QUEUE}")
    try:
        # The writer never ends by itself; if it dies anyway, the process stops (and its
        # supervisor restarts it) rather than consuming outcomes it can no longer write.
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({stopper, task}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
    finally:
        await service.shutdown_step(queue.cancel(tag))
        await service.shutdown_step(dead_queue.cancel(dead_tag))
        # Let the writer drain what it holds; anything still unacked returns to the queue.
        await asyncio.sleep(settings.logger_batch_wait_ms / 1000 * 2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await service.shutdown_step(connection.close())
        await service.shutdown_step(pool.close())
