"""Wiring of a sender: broker consumers that run only while the gateway is enabled."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
from datetime import UTC, datetime

import asyncpg
from aio_pika.abc import AbstractQueue, ConsumerTag

from services.sender.handlers import Sender
from shared import amqp, config_store, db, service, topology
from shared.models import SmsConfig
from shared.settings import Settings

log = logging.getLogger(__name__)

# Configuration changes arrive by NOTIFY; this poll only covers a lost listener connection.
CONFIG_POLL_SECONDS = 15.0
# The test lane is tiny: a few test sends at a time, never waiting behind the mass lane.
TEST_PREFETCH = 8


class Consumers:
    """Starts and stops consuming the job lanes as the gateway is enabled or disabled."""

    def __init__(
        self, sender: Sender, queues: dict[topology.JobLane, AbstractQueue], prefetch: int
    ) -> None:
        self.sender = sender
        self.queues = queues
        self.prefetch = prefetch
        self._qos = prefetch
        self.in_flight = amqp.InFlight()
        self._tags: dict[topology.JobLane, ConsumerTag] = {}

    async def start(self, config: SmsConfig) -> None:
        await self.tune(config)
        for lane, queue in self.queues.items():
            if lane not in self._tags:
                handler = functools.partial(self.sender.on_job, lane)
                self._tags[lane] = await queue.consume(self.in_flight.track(handler))

    async def tune(self, config: SmsConfig) -> None:
        """Match the mass lane's prefetch to the rate limit: jobs held while waiting for a
        send slot are held for at most about a second."""
        prefetch = self.prefetch
        if config.rate_per_second is not None:
            prefetch = max(4, min(prefetch, math.ceil(config.rate_per_second)))
        if prefetch != self._qos:
            await self.queues[topology.SMS].channel.set_qos(prefetch_count=prefetch)
            self._qos = prefetch

    async def stop(self) -> None:
        for lane, tag in list(self._tags.items()):
            await self.queues[lane].cancel(tag)
            del self._tags[lane]

    @property
    def running(self) -> bool:
        return bool(self._tags)


async def _listen(dsn: str, changed: asyncio.Event) -> asyncpg.Connection | None:
    try:
        conn = await asyncpg.connect(dsn)
        await conn.add_listener(topology.CONFIG_CHANNEL, lambda *_: changed.set())
        return conn
    except (OSError, asyncpg.PostgresError) as exc:
        log.warning("cannot listen for configuration changes (%s); polling", exc)
        return None


async def watch_config(settings: Settings, pool: db.Pool, consumers: Consumers) -> None:
    """Follow the SMS configuration; consume only while it exists and is enabled."""
    changed = asyncio.Event()
    listener: asyncpg.Connection | None = None
    while True:
        changed.clear()
        if listener is None or listener.is_closed():
            listener = await _listen(settings.database_url, changed)
        wait = CONFIG_POLL_SECONDS
        try:
            config = await config_store.load_sms(pool)
            pause = await config_store.sms_pause(pool)
            await consumers.sender.apply_config(config)
            consumers.sender.paused = pause is not None
            if pause is not None and pause.get("until"):
                until = datetime.fromisoformat(pause["until"])
                wait = min(wait, max(0.5, (until - datetime.now(UTC)).total_seconds()))
            if config is not None and config.enabled and pause is None:
                if not consumers.running:
                    await consumers.start(config)
                    log.info("gateway enabled: consuming")
                else:
                    await consumers.tune(config)
            elif consumers.running:
                await consumers.stop()
                why = "paused: " + pause["reason"] if pause else "disabled or not configured"
                log.info("gateway %s: messages wait in the queue", why)
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
    # Prefetch bounds the calls in flight per process: enough to hide gateway latency, small
    # enough that a crash hands back only a few hundred jobs (each claim-guarded).
    channel, exchange = await amqp.open_channel(connection, prefetch=settings.sender_prefetch)
    test_channel, _ = await amqp.open_channel(connection, prefetch=TEST_PREFETCH)
    sender = Sender(pool, channel, exchange)
    queues = {
        topology.SMS: await topology.get_queue(channel, topology.SMS.queue),
        topology.SMS_TEST: await topology.get_queue(test_channel, topology.SMS_TEST.queue),
    }
    consumers = Consumers(sender, queues, settings.sender_prefetch)
    watcher = asyncio.create_task(watch_config(settings, pool, consumers))
    service.ready("sender", f"consuming {', '.join(lane.queue for lane in queues)}")
    try:
        await stop.wait()
    finally:
        # Stop taking jobs, finish those in hand (their outcomes are published and acked);
        # whatever is still unacked when the channel closes goes back to the queue.
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await consumers.stop()
        await consumers.in_flight.wait(seconds=20)
        await sender.close()
        await connection.close()
        await pool.close()
