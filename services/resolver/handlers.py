"""The resolver's consumer: a campaign event becomes per-recipient jobs, batch by batch."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aio_pika.abc import AbstractExchange, AbstractIncomingMessage, AbstractRobustChannel
from pydantic import ValidationError

from services.resolver import faults, repo
from services.resolver.domain import CampaignContent, rows_for_people
from services.resolver.jobs import JobMessage, delivery_body, sms_body
from shared import amqp, config_store, render_pool, topology, vocabulary
from shared.db import Pool
from shared.models import Filters
from shared.schemas import ResolveCampaign
from shared.settings import Settings

log = logging.getLogger(__name__)

# After a failure (database down...) wait before handing the event back, so that an outage
# does not spin through the queue's delivery limit in a second.
FAILURE_BACKOFF_SECONDS = 5.0
# A portal message is stored, not sent over a network: it only waits while senders are down.
PORTAL_EXPIRY_DAYS = 30
# Batches whose jobs may be awaiting confirms at once: the next batch is read, rendered,
# stored and published while the previous one's confirms come in (a crash replays both).
PIPELINE_DEPTH = 2
_ROUTING_KEYS = {channel: lane.routing_key for channel, lane in topology.CHANNEL_LANES.items()}


class Interrupted(Exception):
    """The process is stopping; the event goes back to the queue and resumes elsewhere."""


@dataclass(frozen=True, slots=True)
class _Batch:
    """A stored batch whose jobs are being published; the cursor moves past it afterwards."""

    since: int | None  # the cursor it starts after
    last: int  # the id of its last person: the cursor once it is published
    people: int
    messages: int
    publishing: asyncio.Task[None]


@dataclass(frozen=True, slots=True)
class _Advanced:
    """Where the cursor stands after confirmed batches were passed."""

    still_open: bool
    moved: bool  # somebody else moved the cursor: go on from ``cursor``
    cursor: int | None


class Resolver:
    """Expands campaigns; resumable at any batch thanks to the cursor and the ledger."""

    def __init__(
        self,
        settings: Settings,
        pool: Pool,
        amqp_channel: AbstractRobustChannel,
        exchange: AbstractExchange,
        renderer: render_pool.RenderPool | None = None,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.amqp_channel = amqp_channel
        self.exchange = exchange
        self.renderer = renderer or render_pool.shared()
        self.stopping = asyncio.Event()

    def __repr__(self) -> str:
        return (
            f"<Resolver batch_size={self.settings.resolver_batch_size}"
            f" stopping={self.stopping.is_set()}>"
        )

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        """Consume one ResolveCampaign event; ack only when the campaign is fully expanded."""
        try:
            event = ResolveCampaign.model_validate_json(message.body)
        except ValidationError as exc:
            await amqp.dead_letter(self.amqp_channel, message, f"invalid resolve event: {exc}")
            return
        while True:
            try:
                if event.republish:
                    await self.republish(event.campaign_id)
                await self.resolve(event.campaign_id)
                break
            except Interrupted:
                with contextlib.suppress(Exception):
                    await message.nack(requeue=True)
                return
            except Exception as exc:
                if faults.classify(exc) == "campaign" and await self._fail(event.campaign_id, exc):
                    break
                # An outage: retry in place (resolution resumes from its cursor). Handing the
                # event back would count towards the delivery limit, which is meant for poison.
                log.exception("resolving campaign %s failed; retrying", event.campaign_id)
                await asyncio.sleep(FAILURE_BACKOFF_SECONDS)
                if self.stopping.is_set():
                    with contextlib.suppress(Exception):
                        await message.nack(requeue=True)
                    return
        with contextlib.suppress(Exception):  # a lost channel redelivers; resolving is idempotent
            await message.ack()

    async def _fail(self, campaign_id: int, exc: Exception) -> bool:
        """Fail a campaign that retrying cannot resolve, so the campaigns queued behind it
        go on; False when that could not be recorded (then it is retried like an outage)."""
        reason = faults.reason(exc)
        log.error("campaign %s cannot be resolved: %s", campaign_id, reason, exc_info=exc)
        try:
            await repo.fail(self.pool, campaign_id, reason)
        except Exception:
            log.exception("campaign %s: recording the failure failed", campaign_id)
            return False
        return True

    async def republish(self, campaign_id: int) -> None:
        """Publish again a job for every message of the campaign still new (after a pause,
        whose jobs the senders dropped). Duplicates are harmless: the claim filters them."""
        campaign = await repo.load_campaign(self.pool, campaign_id)
        if campaign is None or campaign["status"] != vocabulary.target_of("resume"):
            return
        after, published = 0, 0
        while True:
            if self.stopping.is_set():
                raise Interrupted
            batch = await repo.new_messages_after(
                self.pool, campaign_id, after, self.settings.resolver_batch_size
            )
            if not batch:
                break
            await self._publish(campaign_id, batch)
            published += len(batch)
            after = batch[-1].id
        log.info("campaign %s resumed: %d jobs published again", campaign_id, published)

    async def _publish(self, campaign_id: int, pending: Iterable[repo.Pending]) -> None:
        await asyncio.gather(*(self._publish_one(campaign_id, p) for p in pending))

    async def _publish_one(self, campaign_id: int, pending: repo.Pending) -> None:
        if pending.channel == "sms":
            body = sms_body(
                pending.id, campaign_id, pending.recipient, pending.text, pending.expires_at
            )
        else:
            channel = "email" if pending.channel == "email" else "portal"
            body = delivery_body(
                pending.id, campaign_id, channel, pending.recipient, pending.expires_at
            )
        # Mandatory and confirmed (the channel's mode): returns once the job is in a queue.
        await self.exchange.publish(
            JobMessage(body), routing_key=_ROUTING_KEYS[pending.channel], mandatory=True
        )

    async def _content(
        self, campaign: dict[str, Any]
    ) -> tuple[CampaignContent, dict[str, datetime]]:
        """What the campaign sends, and until when each of its channels may try."""
        request = campaign["request"] or {}
        created = campaign["created_at"]
        expiry: dict[str, datetime] = {"portal": created + timedelta(days=PORTAL_EXPIRY_DAYS)}
        max_parts = 4
        channels = vocabulary.CHANNELS_OF[campaign["send_to"]]
        if "sms" in channels:
            sms = await config_store.load_sms(self.pool)
            if sms is None:
                raise RuntimeError("the SMS gateway is not configured")
            expiry["sms"] = created + timedelta(days=sms.expiry_days)
            max_parts = sms.max_parts
        if "email" in channels:
            email = await config_store.load_email(self.pool)
            if email is None:
                raise RuntimeError("the email server is not configured")
            expiry["email"] = created + timedelta(days=email.expiry_days)
        extra = {
            "company": await config_store.load_company(self.pool),
            "campaign": {
                "id": campaign["id"],
                "subject": campaign["subject"],
                "created_at": created.isoformat(),
            },
        }
        content = CampaignContent(
            message=campaign["message"],
            subject=campaign["subject"],
            send_to_billing_email=bool(request.get("send_to_billing_email")),
            attachments=tuple(request.get("attachments") or ()),
            wants_documents=bool(request.get("attach_financial_documents")),
            only_if_documents=bool(request.get("only_if_financial_documents_exist")),
            max_parts=max_parts,
            region=self.settings.default_region,
            extra=extra,
        )
        return content, expiry

    async def resolve(self, campaign_id: int) -> None:
        """Expand one campaign from its cursor to the end, publishing a job per new row."""
        campaign = await repo.load_campaign(self.pool, campaign_id)
        if campaign is None or campaign["resolved_at"] is not None:
            return
        if not await repo.start(self.pool, campaign_id):
            log.info("campaign %s is closed; nothing to resolve", campaign_id)
            return
        content, expiry = await self._content(campaign)
        document_types = list((campaign["request"] or {}).get("attach_financial_documents") or [])
        filters = Filters.model_validate(campaign["filters"])
        read_from = campaign["resolve_cursor"]
        in_flight: deque[_Batch] = deque()
        published = 0
        try:
            while True:
                await self._stop_if_asked(campaign_id, in_flight)
                people = await repo.people_after(
                    self.pool,
                    campaign["recipient_type"],
                    filters,
                    read_from,
                    self.settings.resolver_batch_size,
                )
                _raise_failed(in_flight)  # the broker refuses jobs: store no more rows
                await self._stop_if_asked(campaign_id, in_flight)
                if people:
                    documents = await repo.documents_for(
                        self.pool, [p["id"] for p in people], document_types
                    )
                    # In a worker, under its limits: a template stopped there (RenderAborted)
                    # fails this campaign with the reason (on_message); RenderBusy retries.
                    rows = await self.renderer.session(
                        self.settings.resolver_render_timeout_seconds
                    ).call(rows_for_people, campaign["send_to"], people, content, documents)
                    count, pending = await repo.store_rows(
                        self.pool, campaign_id, campaign["recipient_type"], rows, expiry
                    )
                    publishing = asyncio.create_task(self._publish(campaign_id, pending))
                    last = people[-1]["id"]
                    in_flight.append(_Batch(read_from, last, len(people), count, publishing))
                    published += len(pending)
                    read_from = last
                advanced = await self._advance(
                    campaign_id, in_flight, keep=PIPELINE_DEPTH - 1 if people else 0
                )
                if not advanced.still_open:
                    log.info("campaign %s was closed while resolving; stopping", campaign_id)
                    return
                if advanced.moved:
                    read_from = advanced.cursor
                elif not people:
                    break
        finally:
            # Only after a failure or a close: these jobs' rows stay new, a replay sends them.
            for batch in in_flight:
                batch.publishing.cancel()
            await asyncio.gather(*(b.publishing for b in in_flight), return_exceptions=True)
        closed = await repo.finish(self.pool, campaign_id)
        log.info(
            "campaign %s resolved: %d jobs published%s",
            campaign_id,
            published,
            ", nothing left to send" if closed else "",
        )

    async def _advance(self, campaign_id: int, in_flight: deque[_Batch], keep: int) -> _Advanced:
        """Advance past the oldest batches until ``keep`` are left (all of them once the cursor
        was moved by somebody else): wait for every confirm, then move the cursor."""
        advanced = _Advanced(True, False, None)
        while len(in_flight) > keep or (advanced.moved and in_flight):
            batch = in_flight[0]
            # Every confirm before the cursor moves: a crash replays this batch (and the next),
            # and the ledger turns the replay into no new rows and at most duplicate jobs.
            await batch.publishing
            in_flight.popleft()
            still_open, cursor = await repo.advance(
                self.pool, campaign_id, batch.since, batch.last, batch.people, batch.messages
            )
            advanced = _Advanced(still_open, advanced.moved or cursor != batch.last, cursor)
            if not still_open:
                break
        return advanced

    async def _stop_if_asked(self, campaign_id: int, in_flight: deque[_Batch]) -> None:
        if self.stopping.is_set():
            # Hand over at a batch boundary: the stored batches' jobs are confirmed and the
            # cursor moved past them, so the next resolver starts where this one stopped.
            await self._advance(campaign_id, in_flight, keep=0)
            raise Interrupted


def _raise_failed(in_flight: deque[_Batch]) -> None:
    for batch in in_flight:
        if batch.publishing.done():
            batch.publishing.result()  # raises the publish failure, if any
