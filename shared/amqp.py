"""RabbitMQ plumbing shared by the services: connections, persistent messages, dead letters."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from pydantic import BaseModel

from shared import topology

log = logging.getLogger(__name__)

REASON_HEADER = "x-herald-reason"
SOURCE_HEADER = "x-herald-source-queue"


async def connect(url: str, *, name: str) -> AbstractRobustConnection:
    """A connection that reconnects by itself and restores its channels and consumers."""
    return await aio_pika.connect_robust(url, client_properties={"connection_name": name})


async def open_channel(
    connection: AbstractRobustConnection, *, prefetch: int = 0
) -> tuple[AbstractRobustChannel, AbstractExchange]:
    """A channel with publisher confirms, the topology declared, and Herald's exchange."""
    # Confirms + mandatory: publish() returns only once the broker has the message in a queue.
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    assert isinstance(channel, aio_pika.RobustChannel)
    if prefetch:
        await channel.set_qos(prefetch_count=prefetch)
    exchange = await topology.declare(channel)
    return channel, exchange


def json_message(
    model: BaseModel, *, message_id: str | None = None, headers: dict[str, Any] | None = None
) -> aio_pika.Message:
    """A persistent JSON message (survives a broker restart) from a schema object."""
    return persistent_message(model.model_dump_json().encode(), message_id, headers)


def persistent_message(
    body: bytes, message_id: str | None = None, headers: dict[str, Any] | None = None
) -> aio_pika.Message:
    """A persistent JSON message from an already encoded body."""
    return aio_pika.Message(
        body,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message_id,
        headers=headers or {},
    )


async def publish(exchange: AbstractExchange, routing_key: str, model: BaseModel) -> None:
    """Publish and wait for the broker's confirm; raises if it was not routed or was nacked."""
    await exchange.publish(json_message(model), routing_key=routing_key, mandatory=True)


async def dead_letter(
    channel: AbstractRobustChannel, message: AbstractIncomingMessage, reason: str
) -> None:
    """Move a message we cannot process to the dead-letter queue, with the reason, then ack."""
    headers = dict(message.headers or {})
    headers[REASON_HEADER] = reason[:500]
    headers[SOURCE_HEADER] = message.routing_key or ""
    dlx = await channel.get_exchange(topology.DEAD_LETTER_EXCHANGE, ensure=False)
    copy = aio_pika.Message(
        message.body,
        content_type=message.content_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        headers=headers,
    )
    await dlx.publish(copy, routing_key=message.routing_key or "", mandatory=True)
    # Ack only after the broker confirmed the dead-lettered copy: nothing is lost.
    await message.ack()
    log.warning("dead-lettered a message from %s: %s", message.routing_key, reason[:200])


Callback = Callable[[AbstractIncomingMessage], Awaitable[None]]


class InFlight:
    """Counts deliveries being handled, so a stopping process can wait for them."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def track(self, handler: Callback) -> Callback:
        """Wrap a consumer callback so that it is counted while it runs."""

        async def tracked(message: AbstractIncomingMessage) -> None:
            self._count += 1
            self._idle.clear()
            try:
                await handler(message)
            finally:
                self._count -= 1
                if self._count == 0:
                    self._idle.set()

        return tracked

    async def wait(self, seconds: float) -> bool:
        """Wait until no delivery is being handled; False if ``seconds`` ran out first."""
        try:
            await asyncio.wait_for(self._idle.wait(), seconds)
        except TimeoutError:
            return False
        return True
