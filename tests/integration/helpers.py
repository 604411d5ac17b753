"""Building blocks of the integration tests: directory rows, campaigns, ledger rows, queues."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
)

from services.campaign.campaigns import domain as campaign_domain
from services.campaign.campaigns.repo import insert_campaign
from services.campaign.directory import repo as directory_repo
from shared import amqp, config_store
from shared.db import Pool, record_to_dict
from shared.models import CampaignRequest, Filters, Person, SmsConfig
from shared.schemas import Outcome

MESSAGE = "Hi {{ customer.full_name }}"


def phone(n: int) -> str:
    """A valid South African mobile number in E.164."""
    return f"+2782{n:07d}"


def person(person_id: int, phone_field: str | None = None, **fields: Any) -> Person:
    """A customer; by default active, with one valid number derived from the id."""
    return Person(
        id=person_id,
        login=f"{person_id:06d}",
        status=fields.pop("status", "active"),
        full_name=fields.pop("full_name", f"Person {person_id}"),
        phone=phone(person_id) if phone_field is None else phone_field,
        **fields,
    )


async def configure_sms(pool: Pool, **overrides: Any) -> SmsConfig:
    """Save an SMS gateway configuration (the resolver needs one)."""
    config = SmsConfig(**overrides)
    await config_store.save(pool, "sms", config.model_dump(mode="json"))
    return config


async def add_people(pool: Pool, people: list[Person]) -> None:
    await directory_repo.upsert_people(pool, "customer", people)


async def create_campaign(
    pool: Pool, *, filters: dict[str, Any] | None = None, message: str = MESSAGE
) -> int:
    """A campaign row as ``POST /campaigns`` stores it (status new), without the outbox."""
    request = CampaignRequest(
        filters=Filters(**(filters or {})), send_to="sms", message=message
    ).model_dump(mode="json")
    async with pool.acquire() as conn:
        row = await insert_campaign(
            conn,
            request=request,
            message=message,
            idempotency_key=None,
            request_hash=campaign_domain.request_hash(request),
        )
    assert row is not None
    return int(row["id"])


async def processing_campaign(pool: Pool, *, resolved: bool = True) -> int:
    """A campaign the resolver has started (and, when ``resolved``, finished expanding)."""
    campaign_id = await create_campaign(pool)
    await pool.execute(
        "UPDATE campaigns SET status = 'processing', started_at = now(),"
        " resolved_at = CASE WHEN $2 THEN now() END WHERE id = $1",
        campaign_id,
        resolved,
    )
    return campaign_id


async def add_message(
    pool: Pool,
    campaign_id: int | None,
    customer_id: int,
    *,
    recipient: str | None = None,
    status: str = "new",
    kind: str = "message",
) -> int:
    """One ledger row; its id."""
    message_id: int = await pool.fetchval(
        "INSERT INTO messages (channel, type, campaign_id, recipient_kind, customer_id,"
        " recipient, text, status, expires_at)"
        " VALUES ('sms', $1, $2, 'customer', $3, $4, 'hello', $5, now() + interval '1 day')"
        " RETURNING id",
        kind,
        campaign_id,
        customer_id,
        recipient or phone(customer_id),
        status,
    )
    return message_id


async def campaign(pool: Pool, campaign_id: int) -> dict[str, Any]:
    row = await pool.fetchrow("SELECT * FROM campaigns WHERE id = $1", campaign_id)
    assert row is not None
    return record_to_dict(row)


async def message(pool: Pool, message_id: int) -> dict[str, Any]:
    row = await pool.fetchrow("SELECT * FROM messages WHERE id = $1", message_id)
    assert row is not None
    return record_to_dict(row)


async def ledger(pool: Pool, campaign_id: int) -> list[dict[str, Any]]:
    """The campaign's ledger rows in id order."""
    rows = await pool.fetch(
        "SELECT * FROM messages WHERE campaign_id = $1 ORDER BY id", campaign_id
    )
    return [record_to_dict(r) for r in rows]


def outcome(message_id: int, status: str, **fields: Any) -> Outcome:
    return Outcome.model_validate(
        {"message_id": message_id, "status": status, "at": datetime.now(UTC), **fields}
    )


def in_an_hour() -> datetime:
    return datetime.now(UTC) + timedelta(hours=1)


# --- RabbitMQ -----------------------------------------------------------------------------


async def queue_count(channel: AbstractChannel, name: str) -> int:
    """Ready messages in a queue, from a passive declare on the wire.

    (aio_pika's ``declare_queue`` returns a cached Queue whose result never changes.)
    """
    underlay = await channel.get_underlay_channel()
    result = await underlay.queue_declare(name, passive=True)
    return int(result.message_count or 0)


async def drain(channel: AbstractChannel, name: str) -> list[AbstractIncomingMessage]:
    """Take (and ack) every ready message of a queue."""
    queue = await channel.get_queue(name, ensure=False)
    taken = []
    while (got := await queue.get(no_ack=True, fail=False)) is not None:
        taken.append(got)
    return taken


async def publish_raw(exchange: AbstractExchange, routing_key: str, body: bytes) -> None:
    """Publish any bytes (confirmed, mandatory) as a producer outside Herald might."""
    await exchange.publish(amqp.persistent_message(body), routing_key=routing_key, mandatory=True)


def header(message: AbstractIncomingMessage, name: str) -> str | None:
    value = (message.headers or {}).get(name)
    if isinstance(value, bytes):
        return value.decode()
    return None if value is None else str(value)


@contextlib.asynccontextmanager
async def consuming(
    queue: AbstractQueue, callback: Callable[[AbstractIncomingMessage], Awaitable[None]]
) -> AsyncIterator[amqp.InFlight]:
    """Consume ``queue`` with ``callback`` for the block; then stop and wait for handlers."""
    in_flight = amqp.InFlight()
    tag = await queue.consume(in_flight.track(callback))
    try:
        yield in_flight
    finally:
        with contextlib.suppress(Exception):
            await queue.cancel(tag)
        await in_flight.wait(seconds=10)


class HookedExchange:
    """Herald's exchange with a hook run before every publish (fault injection).

    ``before(n)`` gets the 0-based number of the publish; it may raise to fail that publish,
    or block. ``idle()`` waits until no real publish is in flight.
    """

    def __init__(self, inner: AbstractExchange, before: Callable[[int], Awaitable[None]]):
        self.inner = inner
        self.before = before
        self.calls = 0
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def publish(self, message: aio_pika.Message, routing_key: str, **kwargs: Any) -> Any:
        number = self.calls
        self.calls += 1
        await self.before(number)
        self._in_flight += 1
        self._idle.clear()
        try:
            return await self.inner.publish(message, routing_key=routing_key, **kwargs)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    async def idle(self) -> None:
        await asyncio.wait_for(self._idle.wait(), 10)

    @property
    def exchange(self) -> AbstractExchange:
        """This wrapper, typed as what the services expect."""
        return cast(AbstractExchange, self)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
