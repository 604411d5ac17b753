"""RabbitMQ for the tests: one vhost for the run, emptied before each test, and a look at a
queue's ready messages and consumers.

Creating a vhost and its 33 quorum queues per test is what wedged a 2-core broker; the
topology never changes, so one vhost emptied between tests gives the same isolation for a
fraction of the broker's work.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aio_pika
import aiormq

from shared import topology
from tests.support.eventually import eventually

# How long a consumer of the previous test may take to go away (its connection closing).
CONSUMERS_GONE_S = 10.0


def herald_queues() -> list[str]:
    """Every queue ``topology.declare`` creates."""
    names = [topology.DEAD_LETTER_QUEUE, topology.RESOLVE_QUEUE, topology.OUTCOME_QUEUE]
    for lane in topology.LANES:
        names.append(lane.queue)
        names += [lane.retry_queue(delay) for delay in topology.RETRY_DELAYS_S]
    return names


@dataclass(frozen=True)
class QueueState:
    """A queue as the broker reports it to a passive declare."""

    ready: int
    consumers: int


async def _state(channel: aiormq.abc.AbstractChannel, name: str) -> QueueState:
    # On the wire each time: aio_pika's declare_queue caches its first answer.
    declared = await channel.queue_declare(name, passive=True)
    return QueueState(int(declared.message_count or 0), int(declared.consumer_count or 0))


@asynccontextmanager
async def watching(amqp_url: str) -> AsyncIterator[Callable[[str], Awaitable[QueueState]]]:
    """A function telling a queue's ready messages and consumers, over one connection."""
    connection = await aio_pika.connect(amqp_url, client_properties={"connection_name": "watch"})
    try:
        underlay = await (await connection.channel()).get_underlay_channel()

        async def state(name: str) -> QueueState:
            return await _state(underlay, name)

        yield state
    finally:
        await connection.close()


async def reset(amqp_url: str, *, declare: bool) -> None:
    """Empty every Herald queue of the vhost (``declare``: create the topology first).

    Fails if a queue still has a consumer after ``CONSUMERS_GONE_S``: something from an
    earlier test is still running and would take this test's messages.
    """
    connection = await aio_pika.connect(amqp_url, client_properties={"connection_name": "reset"})
    try:
        channel = await connection.channel()
        if declare:
            await topology.declare(channel)
        underlay = await channel.get_underlay_channel()
        for name in herald_queues():

            async def idle(name: str = name) -> bool:
                return (await _state(underlay, name)).consumers == 0

            await eventually(
                idle,
                timeout=CONSUMERS_GONE_S,
                what=f"no consumer left on {name} by an earlier test",
            )
            await underlay.queue_purge(name)
    finally:
        await connection.close()


class Vhost:
    """A vhost shared by the tests of a run; ``reset`` before each test."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._declared = False

    def __repr__(self) -> str:
        return f"Vhost({self.url!r}, declared={self._declared})"

    def reset(self) -> None:
        """Empty its queues (declaring them the first time), from outside any event loop."""
        asyncio.run(reset(self.url, declare=not self._declared))
        self._declared = True
