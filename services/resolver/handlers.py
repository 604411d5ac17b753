"""The resolver's consumer: a campaign event becomes per-recipient jobs, batch by batch."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from aio_pika.abc import AbstractExchange, AbstractIncomingMessage, AbstractRobustChannel
from pydantic import ValidationError

from services.resolver import repo
from services.resolver.domain import Content, rows_for
from shared import amqp, config_store, topology
from shared.db import Pool
from shared.models import Filters
from shared.schemas import DeliveryJob, ResolveCampaign, SmsJob
from shared.settings import Settings

log = logging.getLogger(__name__)

# After a failure (database down...) wait before handing the event back, so that an outage
# does not spin through the queue's delivery limit in a second.
FAILURE_BACKOFF_SECONDS = 5.0
# A portal message is stored, not sent over a network: it only waits while senders are down.
PORTAL_EXPIRY_DAYS = 30


class Interrupted(Exception):
    """The process is stopping; the event goes back to the queue and resumes elsewhere."""


class Resolver:
    """Expands campaigns; resumable at any batch thanks to the cursor and the ledger."""

    def __init__(
        self,
        settings: Settings,
        pool: Pool,
        channel: AbstractRobustChannel,
        exchange: AbstractExchange,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.channel = channel
        self.exchange = exchange
        self.stopping = asyncio.Event()

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        """Consume one ResolveCampaign event; ack only when the campaign is fully expanded."""
        try:
            event = ResolveCampaign.model_validate_json(message.body)
        except ValidationError as exc:
            await amqp.dead_letter(self.channel, message, f"invalid resolve event: {exc}")
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
            except Exception:
                # Retry in place (resolution resumes from its cursor): handing the event back
                # would count towards the delivery limit, which is meant for poison.
                log.exception("resolving campaign %s failed; retrying", event.campaign_id)
                await asyncio.sleep(FAILURE_BACKOFF_SECONDS)
                if self.stopping.is_set():
                    with contextlib.suppress(Exception):
                        await message.nack(requeue=True)
                    return
        with contextlib.suppress(Exception):  # a lost channel redelivers; resolving is idempotent
            await message.ack()

    async def republish(self, campaign_id: int) -> None:
        """Publish again a job for every message of the campaign still new (after a pause,
        whose jobs the senders dropped). Duplicates are harmless: the claim filters them."""
        campaign = await repo.load_campaign(self.pool, campaign_id)
        if campaign is None or campaign["status"] != "processing":
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
        job: SmsJob | DeliveryJob
        if pending.channel == "sms":
            job = SmsJob(
                message_id=pending.id,
                campaign_id=campaign_id,
                to=pending.recipient,
                text=pending.text,
                expires_at=pending.expires_at,
            )
        else:
            job = DeliveryJob(
                message_id=pending.id,
                campaign_id=campaign_id,
                channel="email" if pending.channel == "email" else "portal",
                to=pending.recipient,
                expires_at=pending.expires_at,
            )
        lane = topology.CHANNEL_LANES[pending.channel]
        await amqp.publish(self.exchange, lane.routing_key, job)

    async def _content(self, campaign: dict[str, Any]) -> tuple[Content, dict[str, datetime]]:
        """What the campaign sends, and until when each of its channels may try."""
        request = campaign["request"] or {}
        created = campaign["created_at"]
        expiry: dict[str, datetime] = {"portal": created + timedelta(days=PORTAL_EXPIRY_DAYS)}
        max_parts = 4
        if campaign["send_to"] == "sms":
            sms = await config_store.load_sms(self.pool)
            if sms is None:
                raise RuntimeError("the SMS gateway is not configured")
            expiry["sms"] = created + timedelta(days=sms.expiry_days)
            max_parts = sms.max_parts
        if campaign["send_to"] in ("email", "portal_email"):
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
        content = Content(
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
        cursor = campaign["resolve_cursor"]
        published = 0
        while True:
            if self.stopping.is_set():
                raise Interrupted
            people = await repo.people_after(
                self.pool,
                campaign["recipient_type"],
                filters,
                cursor,
                self.settings.resolver_batch_size,
            )
            if not people:
                break
            documents = await repo.documents_for(
                self.pool, [p["id"] for p in people], document_types
            )
            rows = [
                row
                for person in people
                for row in rows_for(
                    campaign["send_to"], person, content, documents.get(person["id"], ())
                )
            ]
            count, pending = await repo.store_rows(
                self.pool, campaign_id, campaign["recipient_type"], rows, expiry
            )
            # Every confirm before the cursor moves: a crash replays this batch, and the
            # ledger turns the replay into no new rows and at most duplicate jobs it drops.
            await self._publish(campaign_id, pending)
            published += len(pending)
            still_open, cursor = await repo.advance(
                self.pool, campaign_id, cursor, people[-1]["id"], len(people), count
            )
            if not still_open:
                log.info("campaign %s was closed while resolving; stopping", campaign_id)
                return
        closed = await repo.finish(self.pool, campaign_id)
        log.info(
            "campaign %s resolved: %d jobs published%s",
            campaign_id,
            published,
            ", nothing left to send" if closed else "",
        )
