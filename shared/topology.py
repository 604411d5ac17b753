"""Every RabbitMQ name Herald uses, and their declaration.

The vhost of ``HERALD_AMQP_URL`` isolates one deployment, so the names below are the same in
every deployment; nothing outside this module spells an exchange or queue name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

EXCHANGE = "herald"
DEAD_LETTER_EXCHANGE = "herald.dlx"
DEAD_LETTER_QUEUE = "herald.dead"

RK_RESOLVE = "campaign.resolve"
RK_OUTCOME = "outcome"

# Retry tiers: a job that failed transiently waits in the tier for its attempt, then the broker
# dead-letters it back to its work queue. Fixed per-queue TTLs keep each tier FIFO.
RETRY_DELAYS_S: tuple[int, ...] = (5, 30, 120, 600, 3600)

# A message redelivered this many times (crashing consumers) is poison: dead-lettered.
DELIVERY_LIMIT = 20

# The Postgres LISTEN/NOTIFY name announcing configuration changes (per database).
CONFIG_NOTIFY = "herald_config"


@dataclass(frozen=True, slots=True)
class JobLane:
    """A work queue of per-recipient jobs, with its routing key and retry tiers."""

    queue: str
    routing_key: str
    channel: str  # the driver that sends its jobs: sms, email or portal

    def retry_queue(self, delay_s: int) -> str:
        return f"{self.queue}.retry.{delay_s}s"

    def retry_routing_key(self, delay_s: int) -> str:
        return f"{self.routing_key}.retry.{delay_s}s"


SMS = JobLane(queue="herald.sms", routing_key="job.sms", channel="sms")
# Test sends get their own queue so they never wait behind a mass campaign.
SMS_TEST = JobLane(queue="herald.sms.test", routing_key="job.sms.test", channel="sms")
EMAIL = JobLane(queue="herald.email", routing_key="job.email", channel="email")
EMAIL_TEST = JobLane(queue="herald.email.test", routing_key="job.email.test", channel="email")
PORTAL = JobLane(queue="herald.portal", routing_key="job.portal", channel="portal")
LANES: tuple[JobLane, ...] = (SMS, SMS_TEST, EMAIL, EMAIL_TEST, PORTAL)
# The mass lane of each channel (test sends pick the channel's test lane).
CHANNEL_LANES = {"sms": SMS, "email": EMAIL, "portal": PORTAL}

RESOLVE_QUEUE = "herald.campaigns"
OUTCOME_QUEUE = "herald.outcomes"


def retry_delay_for(attempt: int) -> int:
    """The retry tier (seconds) for a job that has failed ``attempt`` times (1-based)."""
    index = min(max(attempt, 1), len(RETRY_DELAYS_S)) - 1
    return RETRY_DELAYS_S[index]


def _work_queue_args() -> dict[str, Any]:
    # Quorum queues: replicated, durable, with a delivery limit that stops crash loops.
    # At-least-once dead-lettering needs reject-publish overflow (RabbitMQ >= 3.10).
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def _retry_queue_args(lane: JobLane, delay_s: int) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-message-ttl": delay_s * 1000,
        "x-dead-letter-exchange": EXCHANGE,
        "x-dead-letter-routing-key": lane.routing_key,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


async def declare(channel: AbstractChannel) -> AbstractExchange:
    """Declare the whole topology (idempotent, safe from many processes at once)."""
    exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True)
    dlx = await channel.declare_exchange(
        DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True
    )
    dead = await channel.declare_queue(
        DEAD_LETTER_QUEUE, durable=True, arguments={"x-queue-type": "quorum"}
    )
    await dead.bind(dlx)
    for name, key in ((RESOLVE_QUEUE, RK_RESOLVE), (OUTCOME_QUEUE, RK_OUTCOME)):
        queue = await channel.declare_queue(name, durable=True, arguments=_work_queue_args())
        await queue.bind(exchange, key)
    for lane in LANES:
        queue = await channel.declare_queue(lane.queue, durable=True, arguments=_work_queue_args())
        await queue.bind(exchange, lane.routing_key)
        for delay in RETRY_DELAYS_S:
            retry = await channel.declare_queue(
                lane.retry_queue(delay), durable=True, arguments=_retry_queue_args(lane, delay)
            )
            await retry.bind(exchange, lane.retry_routing_key(delay))
    return exchange


async def get_queue(channel: AbstractChannel, name: str) -> AbstractQueue:
    """A declared queue by name (passively: it must already exist)."""
    return await channel.get_queue(name, ensure=True)
