"""Wiring of a sender: per-channel consumers that run only while their channel is usable."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
from datetime import UTC, datetime

import asyncpg
from aio_pika.abc import AbstractQueue, AbstractRobustChannel, ConsumerTag

from services.sender.handlers import BATCHES_IN_FLIGHT, Sender
from services.sender.portal import PortalDriver
from services.sender.sms import SmsDriver
from services.sender.smtp import EmailDriver
from shared import amqp, config_store, db, service, topology
from shared.settings import Settings

log = logging.getLogger(__name__)

# Configuration changes arrive by NOTIFY; this poll only covers a lost listener connection.
CONFIG_POLL_SECONDS = 15.0
# Test sends have their own small lanes: a few at a time, never behind a mass campaign.
TEST_PREFETCH = 8


class Consumers:
    """The consumers of one channel's lanes, started and stopped as the channel is usable."""

    def __init__(
        self,
        name: str,
        sender: Sender,
        channel: AbstractRobustChannel,
        queues: dict[topology.JobLane, AbstractQueue],
        prefetch: int,
        in_flight: amqp.InFlight,
    ) -> None:
        self.name = name
        self.sender = sender
        self.channel = channel
        self.queues = queues
        self.prefetch = prefetch
        self.in_flight = in_flight
        self._qos = prefetch
        self._tags: dict[topology.JobLane, ConsumerTag] = {}

    async def run(self, should: bool, rate_per_second: float | None, batch_size: int = 0) -> None:
        """Consume when ``should``; jobs held while waiting for a rate slot stay few."""
        if should:
            await self._tune(rate_per_second, batch_size)
            for lane, queue in self.queues.items():
                if lane not in self._tags:
                    handler = functools.partial(self.sender.on_job, lane)
                    self._tags[lane] = await queue.consume(self.in_flight.track(handler))
                    log.info("%s: consuming %s", self.name, lane.queue)
        else:
            await self.stop()

    async def _tune(self, rate_per_second: float | None, batch_size: int) -> None:
        # Enough jobs in hand to fill the batches in flight; about a second's worth of jobs
        # when a rate limit applies.
        prefetch = max(self.prefetch, batch_size * BATCHES_IN_FLIGHT)
        if rate_per_second is not None:
            prefetch = max(4, min(prefetch, math.ceil(rate_per_second)))
        if prefetch != self._qos:
            await self.channel.set_qos(prefetch_count=prefetch)
            self._qos = prefetch
            # basic.qos only binds consumers started after it: start ours again (the jobs in
            # hand are finished and acked on this channel as usual).
            await self.stop()

    async def stop(self) -> None:
        for lane, tag in list(self._tags.items()):
            try:
                await self.queues[lane].cancel(tag)
            finally:
                # Forgotten even if the cancel failed (a lost channel forgets it too), so
                # that the next run() consumes again.
                del self._tags[lane]
            log.info("%s: stopped consuming %s (messages wait in the queue)", self.name, lane.queue)


async def _listen(dsn: str, changed: asyncio.Event) -> asyncpg.Connection | None:
    try:
        conn = await asyncpg.connect(dsn)
        await conn.add_listener(topology.CONFIG_NOTIFY, lambda *_: changed.set())
        return conn
    except (OSError, asyncpg.PostgresError) as exc:
        log.warning("cannot listen for configuration changes (%s); polling", exc)
        return None


async def watch_config(
    settings: Settings,
    pool: db.Pool,
    sms: SmsDriver,
    email: EmailDriver,
    groups: dict[str, Consumers],
) -> None:
    """Follow the channel settings; consume each channel only while it is usable."""
    changed = asyncio.Event()
    listener: asyncpg.Connection | None = None
    while True:
        changed.clear()
        if listener is None or listener.is_closed():
            listener = await _listen(settings.database_url, changed)
        wait = CONFIG_POLL_SECONDS
        try:
            await sms.apply_config(await config_store.load_sms(pool))
            pause = await config_store.sms_pause(pool)
            sms.paused = pause is not None
            if pause is not None and pause.get("until"):
                until = datetime.fromisoformat(pause["until"])
                wait = min(wait, max(0.5, (until - datetime.now(UTC)).total_seconds()))
            await email.apply_config(await config_store.load_email(pool))
            await groups["sms"].run(sms.usable(), sms.rate_per_second, sms.batch_size)
            await groups["email"].run(email.usable(), email.rate_per_second)
            await groups["portal"].run(True, None)
            await groups["test"].run(True, None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("configuration reload failed, retrying: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), wait)


async def main(settings: Settings, stop: asyncio.Event) -> None:
    """Send jobs until ``stop`` is set."""
    pool = await db.open_database(settings.database_url, max_size=10)
    connection = await amqp.connect(settings.amqp_url, name="herald-sender")
    # Prefetch bounds the jobs in hand per process: enough to hide gateway latency, small
    # enough that a crash hands back only a few hundred jobs (each claim-guarded).
    channel, exchange = await amqp.open_channel(connection, prefetch=settings.sender_prefetch)
    email_channel, _ = await amqp.open_channel(connection, prefetch=settings.sender_prefetch)
    portal_channel, _ = await amqp.open_channel(connection, prefetch=settings.sender_prefetch)
    test_channel, _ = await amqp.open_channel(connection, prefetch=TEST_PREFETCH)
    sms, email, portal = SmsDriver(pool), EmailDriver(pool), PortalDriver(pool)
    sender = Sender(pool, channel, exchange, {"sms": sms, "email": email, "portal": portal})
    in_flight = amqp.InFlight()

    async def group(
        name: str, on: AbstractRobustChannel, lanes: tuple[topology.JobLane, ...], prefetch: int
    ) -> Consumers:
        queues = {lane: await topology.get_queue(on, lane.queue) for lane in lanes}
        return Consumers(name, sender, on, queues, prefetch, in_flight)

    groups = {
        "sms": await group("sms", channel, (topology.SMS,), settings.sender_prefetch),
        "email": await group("email", email_channel, (topology.EMAIL,), settings.sender_prefetch),
        "portal": await group(
            "portal", portal_channel, (topology.PORTAL,), settings.sender_prefetch
        ),
        "test": await group(
            "test", test_channel, (topology.SMS_TEST, topology.EMAIL_TEST), TEST_PREFETCH
        ),
    }
    watcher = asyncio.create_task(watch_config(settings, pool, sms, email, groups))
    service.ready("sender", f"lanes {', '.join(lane.queue for lane in topology.LANES)}")
    try:
        await stop.wait()
    finally:
        # Stop taking jobs, finish those in hand (their outcomes are published and acked);
        # whatever is still unacked when the channel closes goes back to the queue.
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        for consumers in groups.values():
            await service.shutdown_step(consumers.stop())
        # Jobs not yet in a batch go back at once; running batches get the rest of the time.
        await sender.close(seconds=20)
        await in_flight.wait(seconds=5)
        await service.shutdown_step(sms.close())
        await service.shutdown_step(connection.close())
        await service.shutdown_step(pool.close())
