"""The sender's job flow, the same for every channel: claim, deliver, publish the outcome,
then ack."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from aio_pika.abc import AbstractExchange, AbstractIncomingMessage, AbstractRobustChannel
from pydantic import ValidationError

from services.sender import domain, repo
from services.sender.drivers import Delivery, Driver, Job
from shared import amqp, topology
from shared.db import Pool
from shared.logs import mask_email, mask_phone
from shared.schemas import DeliveryJob, Outcome, SmsJob
from shared.sms_gateway import classify_exception

log = logging.getLogger(__name__)

TEST_LANES = (topology.SMS_TEST, topology.EMAIL_TEST)


class Sender:
    """Handles jobs of every lane with the driver of the lane's channel."""

    def __init__(
        self,
        pool: Pool,
        channel: AbstractRobustChannel,
        exchange: AbstractExchange,
        drivers: dict[str, Driver],
    ) -> None:
        self.pool = pool
        self.channel = channel
        self.exchange = exchange
        self.drivers = drivers

    async def on_job(self, lane: topology.JobLane, message: AbstractIncomingMessage) -> None:
        """Handle one delivery; it is acked only once its outcome or retry is confirmed."""
        model = SmsJob if lane in (topology.SMS, topology.SMS_TEST) else DeliveryJob
        try:
            job: Job = model.model_validate_json(message.body)
        except ValidationError as exc:
            kind = "SMS" if model is SmsJob else "delivery"
            await amqp.dead_letter(
                self.channel, message, f"invalid {kind} job ({lane.queue}): {exc}"
            )
            return
        try:
            await self._handle(lane, job)
        except Exception as exc:
            # Database (or broker) trouble: park the job in the first retry tier as a new
            # message, so an outage does not count towards the delivery limit meant for
            # poison; hand it back only if even that fails.
            log.warning("message %s: handling failed (%s); retrying later", job.message_id, exc)
            try:
                await self._retry(lane, job, topology.RETRY_DELAYS_S[0])
            except Exception:
                await asyncio.sleep(1)
                with contextlib.suppress(Exception):
                    await message.nack(requeue=True)
                return
        with contextlib.suppress(Exception):  # a lost channel redelivers; the claim dedupes
            await message.ack()

    async def _handle(self, lane: topology.JobLane, job: Job) -> None:
        now = datetime.now(UTC)
        if job.expires_at <= now:
            await self._outcome(job, "expired", error="not sent before expiry")
            return
        driver = self.drivers[job.channel if isinstance(job, DeliveryJob) else "sms"]
        if not driver.usable():
            # Sending was switched off after this job was delivered: wait in a retry tier.
            await self._retry(lane, job, topology.RETRY_DELAYS_S[0])
            return
        if lane in TEST_LANES:
            # A test send never queues behind the mass jobs this process holds.
            await self._send(lane, job, driver, now)
            return
        # Claim only when a connection is free: a message claimed is a message about to be
        # handed over, so a cancel or pause catches everything still waiting.
        async with driver.capacity:
            await self._send(lane, job, driver, now)

    async def _send(self, lane: topology.JobLane, job: Job, driver: Driver, now: datetime) -> None:
        claim = await repo.claim(self.pool, job.message_id, driver.lease)
        if claim.result in ("final", "missing", "held"):
            # Already done (a redelivery, a duplicate job), or its campaign is paused (the
            # resume republishes it): no call.
            return
        if claim.result == "busy":
            await self._retry(lane, job, topology.RETRY_DELAYS_S[0])
            return
        try:
            delivery = await driver.deliver(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            verdict = (
                domain.classify_smtp(exc) if driver.channel == "email" else classify_exception(exc)
            )
            delivery = Delivery(verdict)
        verdict = delivery.verdict
        action = domain.decide(verdict, attempt=claim.attempts, now=now, expires_at=job.expires_at)
        reason = driver.redact(action.reason) if action.reason else None
        if action.kind == "retry":
            delay = action.delay_s
            if verdict.verdict == "gateway_paused":
                await driver.paused_by(delivery, now)
                delay = topology.RETRY_DELAYS_S[0]  # the pause, not the tier, holds it back
            await repo.release(
                self.pool, job.message_id, claim.attempts, reason or "", delivery.answer
            )
            await self._retry(lane, job.model_copy(update={"attempt": claim.attempts}), delay)
            return
        await self._outcome(
            job,
            action.kind,
            error=reason,
            request=delivery.request,
            answer=delivery.answer,
            batch_id=verdict.batch_id,
            attempt=claim.attempts,
        )
        if action.kind != "sent":
            masked = mask_phone(job.to) if isinstance(job, SmsJob) else mask_email(job.to)
            log.info("message %s to %s: %s", job.message_id, masked, reason)

    async def _retry(self, lane: topology.JobLane, job: Job, delay_s: int) -> None:
        await self.exchange.publish(
            amqp.json_message(job), routing_key=lane.retry_routing_key(delay_s), mandatory=True
        )

    async def _outcome(
        self,
        job: Job,
        status: domain.ActionKind,
        *,
        error: str | None = None,
        request: str | None = None,
        answer: str | None = None,
        batch_id: str | None = None,
        attempt: int = 0,
    ) -> None:
        assert status != "retry"
        outcome = Outcome(
            message_id=job.message_id,
            campaign_id=job.campaign_id,
            channel=job.channel if isinstance(job, DeliveryJob) else "sms",
            status=status,
            error=error,
            gateway_request=request,
            gateway_answer=answer,
            batch_id=batch_id,
            attempt=attempt,
            at=datetime.now(UTC),
        )
        await amqp.publish(self.exchange, topology.RK_OUTCOME, outcome)
