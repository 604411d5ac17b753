"""The resolver's consumer: a campaign event becomes per-recipient jobs, batch by batch."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import timedelta

from aio_pika.abc import AbstractExchange, AbstractIncomingMessage, AbstractRobustChannel
from pydantic import ValidationError

from services.resolver import repo
from services.resolver.domain import sms_rows
from shared import amqp, config_store, topology
from shared.db import Pool
from shared.models import Filters
from shared.schemas import ResolveCampaign, SmsJob
from shared.settings import Settings

log = logging.getLogger(__name__)

# After a failure (database down...) wait before handing the event back, so that an outage
# does not spin through the queue's delivery limit in a second.
FAILURE_BACKOFF_SECONDS = 5.0


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
        try:
            if event.republish:
                await self.republish(event.campaign_id)
            await self.resolve(event.campaign_id)
        except Interrupted:
            await message.nack(requeue=True)
            return
        except Exception:
            log.exception("resolving campaign %s failed; will retry", event.campaign_id)
            await asyncio.sleep(FAILURE_BACKOFF_SECONDS)
            await message.nack(requeue=True)
            return
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
            await self._publish(
                SmsJob(message_id=mid, campaign_id=campaign_id, to=to, text=text, expires_at=exp)
                for mid, to, text, exp in batch
            )
            published += len(batch)
            after = batch[-1][0]
        log.info("campaign %s resumed: %d jobs published again", campaign_id, published)

    async def _publish(self, jobs: Iterable[SmsJob]) -> None:
        await asyncio.gather(
            *(amqp.publish(self.exchange, topology.SMS.routing_key, job) for job in jobs)
        )

    async def resolve(self, campaign_id: int) -> None:
        """Expand one campaign from its cursor to the end, publishing a job per new row."""
        campaign = await repo.load_campaign(self.pool, campaign_id)
        if campaign is None or campaign["resolved_at"] is not None:
            return
        if not await repo.start(self.pool, campaign_id):
            log.info("campaign %s is closed; nothing to resolve", campaign_id)
            return
        config = await config_store.load_sms(self.pool)
        if config is None:
            raise RuntimeError("the SMS gateway is not configured")
        context = {
            "company": await config_store.load_company(self.pool),
            "campaign": {
                "id": campaign_id,
                "subject": campaign["subject"],
                "created_at": campaign["created_at"].isoformat(),
            },
        }
        expires_at = campaign["created_at"] + timedelta(days=config.expiry_days)
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
            rows = [
                row
                for person in people
                for row in sms_rows(
                    person,
                    campaign["message"],
                    context,
                    region=self.settings.default_region,
                    max_parts=config.max_parts,
                )
            ]
            count, pending = await repo.store_rows(
                self.pool, campaign_id, campaign["recipient_type"], "sms", rows, expires_at
            )
            jobs = [
                SmsJob(
                    message_id=mid, campaign_id=campaign_id, to=to, text=text, expires_at=expires_at
                )
                for mid, to, text in pending
            ]
            # Every confirm before the cursor moves: a crash replays this batch, and the
            # ledger turns the replay into no new rows and at most duplicate jobs it drops.
            await self._publish(jobs)
            published += len(jobs)
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
