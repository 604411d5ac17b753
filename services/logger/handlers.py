"""The logger's consumer: outcome events are written in batches, acked after commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel
from pydantic import ValidationError

from services.logger import repo
from shared import amqp
from shared.db import Pool
from shared.schemas import Outcome, parse_outcomes

log = logging.getLogger(__name__)

FAILURE_BACKOFF_SECONDS = 2.0
# Errors that retrying cannot fix (bad data), unlike a lost connection.
UNSTORABLE = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)

# One delivery of the outcome queue: its outcomes, or why it is invalid.
Event = tuple[list[Outcome] | str, AbstractIncomingMessage]


class BatchWriter:
    """Collects deliveries and writes them in one transaction when the batch is full or old."""

    def __init__(
        self, pool: Pool, amqp_channel: AbstractRobustChannel, batch_size: int, max_wait_s: float
    ) -> None:
        self.pool = pool
        self.amqp_channel = amqp_channel
        self.batch_size = batch_size
        self.max_wait_s = max_wait_s
        self._queue: asyncio.Queue[Event] = asyncio.Queue()

    def __repr__(self) -> str:
        return (
            f"<BatchWriter queued={self._queue.qsize()} batch_size={self.batch_size}"
            f" max_wait_s={self.max_wait_s}>"
        )

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        """Queue one event's outcomes (or why it is invalid) for the next batch, in delivery
        order."""
        try:
            item: list[Outcome] | str = parse_outcomes(message.body)
        except ValidationError as exc:
            item = f"invalid outcome event: {exc}"
        await self._queue.put((item, message))

    async def run(self) -> None:
        """Write batches until cancelled."""
        while True:
            batch = [await self._queue.get()]
            size = _size(batch[0])
            deadline = asyncio.get_running_loop().time() + self.max_wait_s
            while size < self.batch_size:
                timeout = deadline - asyncio.get_running_loop().time()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), timeout))
                except TimeoutError:
                    break
                size += _size(batch[-1])
            try:
                await self._handle(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Whatever went wrong, the writer goes on. What the batch left unacked goes
                # back now: the next batch's `multiple` ack must not cover it unwritten.
                log.exception("a batch of %d events failed; they will be redelivered", len(batch))
                for _, message in batch:
                    if not message.processed:
                        with contextlib.suppress(Exception):
                            await message.nack(requeue=True)

    async def _handle(self, batch: list[Event]) -> None:
        # Invalid ones are dead-lettered (and acked) first, so that the batch's single
        # `multiple` ack below never covers a message whose copy is not yet confirmed.
        valid: list[tuple[list[Outcome], AbstractIncomingMessage]] = []
        for item, message in batch:
            if isinstance(item, str):
                await amqp.dead_letter(self.amqp_channel, message, item)
            else:
                valid.append((item, message))
        if valid:
            await self._write(valid)

    async def _write(self, batch: list[tuple[list[Outcome], AbstractIncomingMessage]]) -> None:
        outcomes = [outcome for event, _ in batch for outcome in event]
        while True:
            try:
                changed, closed = await repo.apply(self.pool, outcomes)
                break
            except UNSTORABLE:
                # Something in this batch can never be stored: find it, keep the rest.
                await self._write_one_by_one(batch)
                return
            except Exception as exc:
                # The database is away: retry in place. Handing the events back would count
                # towards the queue's delivery limit, which is meant for poison, not outages.
                log.warning("writing %d outcomes failed (%s); retrying", len(batch), exc)
                await asyncio.sleep(FAILURE_BACKOFF_SECONDS)
        # Ack after commit: a crash before this line redelivers events that change nothing.
        # One frame for the batch: every earlier delivery of this channel is answered already
        # (written in an earlier batch, dead-lettered, or handed back), so `multiple` covers
        # exactly this batch.
        await _ack(batch[-1][1], multiple=True)
        if closed:
            log.info("campaigns finished: %s", ", ".join(map(str, closed)))
        log.debug("wrote %d outcomes (%d changed rows)", len(outcomes), changed)

    async def _write_one_by_one(
        self, batch: list[tuple[list[Outcome], AbstractIncomingMessage]]
    ) -> None:
        for event, message in batch:
            try:
                unstorable = await self._store(event)
            except Exception as exc:
                log.warning("writing an outcome failed (%s); it goes back to the queue", exc)
                with contextlib.suppress(Exception):
                    await message.nack(requeue=True)
                continue
            if unstorable:
                # The others are stored; the whole event is kept for inspection (writing it
                # again would change nothing but the unstorable rows).
                reason = "outcome cannot be stored: " + "; ".join(unstorable)
                await amqp.dead_letter(self.amqp_channel, message, reason)
                continue
            await _ack(message)

    async def _store(self, event: list[Outcome]) -> list[str]:
        """Store one event's outcomes; why each one that can never be stored failed."""
        try:
            await repo.apply(self.pool, event)
            return []
        except UNSTORABLE:
            pass
        failed: list[str] = []
        # One outcome per message first, so that "sent wins" holds here too.
        for outcome in repo.merge(event):
            try:
                await repo.apply(self.pool, [outcome])
            except UNSTORABLE as exc:
                failed.append(f"message {outcome.message_id}: {exc}")
        return failed


def _size(event: Event) -> int:
    return len(event[0]) if isinstance(event[0], list) else 1


async def _ack(message: AbstractIncomingMessage, *, multiple: bool = False) -> None:
    """Ack; after a lost broker connection the ack fails harmlessly: the broker redelivers
    the events, and writing them again changes nothing."""
    try:
        await message.ack(multiple=multiple)
    except Exception as exc:
        log.info("ack failed (%s); the broker will redeliver", type(exc).__name__)


async def keep_dead_letter(pool: Pool, message: AbstractIncomingMessage) -> None:
    """Move one message from the dead-letter queue into the ``dead_letters`` table."""
    headers = {k: _plain(v) for k, v in (message.headers or {}).items()}
    reason = str(headers.get(amqp.REASON_HEADER) or _broker_reason(headers))
    source = str(headers.get(amqp.SOURCE_HEADER) or message.routing_key or "")
    try:
        await repo.store_dead_letter(pool, source, reason, message.body, headers)
    except Exception as exc:
        log.warning("cannot store a dead letter (%s); it stays in the queue", exc)
        await asyncio.sleep(FAILURE_BACKOFF_SECONDS)
        await message.nack(requeue=True)
        return
    # Ack after the insert committed: a crash in between keeps it in the queue.
    await message.ack()


def _broker_reason(headers: dict[str, object]) -> str:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        death = deaths[0]
        return f"{death.get('reason', 'dead-lettered')} by the broker (queue {death.get('queue')})"
    return "dead-lettered by the broker"


def _plain(value: object) -> object:
    """Header values as JSON-friendly data (AMQP tables hold bytes and datetimes)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
