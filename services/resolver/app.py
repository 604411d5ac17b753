"""Wiring of the resolver: database, broker, one consumer."""

from __future__ import annotations

import asyncio

from services.resolver.handlers import Resolver
from shared import amqp, db, render_pool, service, topology
from shared.settings import Settings

# One campaign at a time per process: a resolution is long and streams its own batches;
# more resolver processes resolve more campaigns in parallel.
PREFETCH = 1


async def main(settings: Settings, stop: asyncio.Event) -> None:
    """Consume campaign events until ``stop`` is set."""
    pool = await db.open_database(settings.database_url, max_size=4)
    connection = await amqp.connect(settings.amqp_url, name="herald-resolver")
    channel, exchange = await amqp.open_channel(connection, prefetch=PREFETCH)
    # The workers import the resolution rules (phone numbers) once, in the forkserver.
    renderer = render_pool.RenderPool(render_pool.Limits.of(settings), ["services.resolver.domain"])
    await renderer.start()
    resolver = Resolver(settings, pool, channel, exchange, renderer)
    queue = await topology.get_queue(channel, topology.RESOLVE_QUEUE)
    in_flight = amqp.InFlight()
    tag = await queue.consume(in_flight.track(resolver.on_message))
    service.ready("resolver", f"consuming {topology.RESOLVE_QUEUE}")
    try:
        await stop.wait()
    finally:
        # Stop taking events; a resolution in progress stops at its next batch and hands
        # its event back (nack), to resume from the cursor in another process.
        await service.shutdown_step(queue.cancel(tag))
        resolver.stopping.set()
        await in_flight.wait(seconds=20)
        await service.shutdown_step(renderer.close())
        await service.shutdown_step(connection.close())
        await service.shutdown_step(pool.close())
