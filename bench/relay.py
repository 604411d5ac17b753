"""Figure 0: what the broker and the HTTP stack allow on this machine, with no Herald code.

* Confirm-publish: persistent messages published with confirms (``mandatory``, many in
  flight at once, as the resolver publishes a batch) into a quorum queue like Herald's.
* Relay: consume from that queue (prefetch 500), publish each message to a second quorum
  queue with a confirm, ack once confirmed. This is a sender's broker work without the
  gateway call or the database, so it is the ceiling Herald's pipeline is compared with.
* HTTP: an aiohttp client posting BulkSMS EAPI forms to the sandbox gateway.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aio_pika
import aiohttp
from pamqp.common import FieldTable

from bench.progress import Progress

EXCHANGE = "bench.relay"
SOURCE = "bench.relay.in"
TARGET = "bench.relay.out"
QUORUM: FieldTable = {"x-queue-type": "quorum"}
PREFETCH = 500
# Publishes in flight at once while filling the source queue (a resolver batch is 1,000).
PUBLISH_WINDOW = 1000
# About the size of an SmsJob body.
BODY = (
    b'{"message_id":123456,"campaign_id":7,"to":"+27820001234","text":"Dear Thandi Mokoena,'
    b' your balance is 120.5 ZAR. Herald Demo ISP","expires_at":"2026-11-27T17:00:00Z",'
    b'"attempt":0}'
)


@dataclass(frozen=True)
class BrokerCeiling:
    messages: int
    publish_per_s: float
    relay_per_s: float


def _message(seq: int) -> aio_pika.Message:
    return aio_pika.Message(
        BODY,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(seq),
    )


async def broker_ceiling(amqp_url: str, messages: int, progress: Progress) -> BrokerCeiling:
    """Measure the confirm-publish rate, then the consume → publish → ack relay rate."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.DIRECT)
        source = await channel.declare_queue(SOURCE, durable=True, arguments=QUORUM)
        target = await channel.declare_queue(TARGET, durable=True, arguments=QUORUM)
        await source.bind(exchange, SOURCE)
        await target.bind(exchange, TARGET)

        started = time.monotonic()
        for first in range(0, messages, PUBLISH_WINDOW):
            last = min(first + PUBLISH_WINDOW, messages)
            await asyncio.gather(
                *(
                    exchange.publish(_message(seq), routing_key=SOURCE, mandatory=True)
                    for seq in range(first, last)
                )
            )
            progress.status(f"confirm-publish: {last:,}/{messages:,}")
        publish_s = time.monotonic() - started

        relay_channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await relay_channel.set_qos(prefetch_count=PREFETCH)
        relay_exchange = await relay_channel.get_exchange(EXCHANGE)
        relay_source = await relay_channel.get_queue(SOURCE)
        done = asyncio.Event()
        relayed = 0

        async def relay(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal relayed
            copy = aio_pika.Message(
                message.body,
                content_type=message.content_type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            await relay_exchange.publish(copy, routing_key=TARGET, mandatory=True)
            await message.ack()
            relayed += 1
            if relayed >= messages:
                done.set()

        started = time.monotonic()
        tag = await relay_source.consume(relay)
        while not done.is_set():
            progress.status(f"relay: {relayed:,}/{messages:,}")
            try:
                await asyncio.wait_for(done.wait(), 0.5)
            except TimeoutError:
                continue
        relay_s = time.monotonic() - started
        await relay_source.cancel(tag)
        await source.delete(if_unused=False, if_empty=False)
        await target.delete(if_unused=False, if_empty=False)
        await exchange.delete()
    finally:
        await connection.close()
    progress.done()
    return BrokerCeiling(messages, messages / publish_s, messages / relay_s)


async def http_ceiling(sandbox_url: str, requests: int, connections: int) -> float:
    """Requests per second an aiohttp client gets from the sandbox's send_sms endpoint."""
    url = f"{sandbox_url}/eapi/submission/send_sms/2/2.0"
    limit = asyncio.Semaphore(connections)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:

        async def post(seq: int) -> None:
            form = {
                "username": "bench",
                "password": "bench",
                "message": "bare HTTP ceiling",
                "msisdn": f"2783{seq:07d}",
                "stop_dup_id": str(10**9 + seq),
            }
            async with limit, session.post(url, data=form) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"sandbox answered HTTP {response.status}")

        started = time.monotonic()
        await asyncio.gather(*(post(seq) for seq in range(requests)))
        return requests / (time.monotonic() - started)
