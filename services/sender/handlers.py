"""The sender's consumer: claim, call the gateway, publish the outcome, then ack."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from aio_pika.abc import AbstractExchange, AbstractIncomingMessage, AbstractRobustChannel
from pydantic import ValidationError

from services.sender import domain, repo
from services.sender.ratelimit import SharedRateLimiter
from shared import amqp, config_store, secrets, topology
from shared.db import Pool
from shared.logs import mask_phone
from shared.models import SmsConfig
from shared.schemas import Outcome, SmsJob
from shared.sms_client import Gateway
from shared.sms_gateway import Classification, build_request, classify_exception, classify_response

log = logging.getLogger(__name__)


class Sender:
    """Sends SMS jobs through the configured gateway; any number of processes may run."""

    def __init__(self, pool: Pool, channel: AbstractRobustChannel, exchange: AbstractExchange):
        self.pool = pool
        self.channel = channel
        self.exchange = exchange
        self.config: SmsConfig | None = None
        self.gateway: Gateway | None = None
        self.paused = False
        self.limiter = SharedRateLimiter(pool, "sms")
        self._secrets: list[str] = []

    async def apply_config(self, config: SmsConfig | None) -> None:
        """Use a new gateway configuration from now on (in-flight calls finish on the old)."""
        if config == self.config:
            return
        old, self.config = self.gateway, config
        self.gateway = Gateway(config) if config is not None else None
        self._secrets = (
            secrets.secret_values(config.payload, config.headers, url=str(config.url))
            if config
            else []
        )
        if old is not None:
            asyncio.get_running_loop().call_later(
                old.config.timeout_seconds + 1, lambda: asyncio.ensure_future(old.close())
            )

    async def close(self) -> None:
        """Close the gateway connections."""
        if self.gateway is not None:
            await self.gateway.close()

    async def on_job(self, lane: topology.JobLane, message: AbstractIncomingMessage) -> None:
        """Handle one delivery; it is acked only once its outcome or retry is confirmed."""
        try:
            job = SmsJob.model_validate_json(message.body)
        except ValidationError as exc:
            await amqp.dead_letter(self.channel, message, f"invalid SMS job: {exc}")
            return
        try:
            await self._handle(lane, job)
        except Exception:
            # Database or broker trouble: the job goes back to the queue untouched.
            log.exception("message %s: handling failed; requeued", job.message_id)
            await asyncio.sleep(1)
            await message.nack(requeue=True)
            return
        await message.ack()

    async def _handle(self, lane: topology.JobLane, job: SmsJob) -> None:
        now = datetime.now(UTC)
        if job.expires_at <= now:
            await self._outcome(job, "expired", error="not sent before expiry")
            return
        config, gateway = self.config, self.gateway
        if config is None or gateway is None or not config.enabled or self.paused:
            # Sending was switched off after this job was delivered: wait in a retry tier.
            await self._retry(lane, job, topology.RETRY_DELAYS_S[0])
            return
        # Claim only when a connection is free: a message claimed is a message about to be
        # handed to the gateway, so a cancel or pause catches everything still waiting.
        async with gateway.capacity:
            await self._send(lane, job, config, gateway, now)

    async def _send(
        self,
        lane: topology.JobLane,
        job: SmsJob,
        config: SmsConfig,
        gateway: Gateway,
        now: datetime,
    ) -> None:
        claim = await repo.claim(
            self.pool, job.message_id, domain.claim_lease(config.timeout_seconds)
        )
        if claim.result in ("final", "missing", "held"):
            # Already done (a redelivery, a duplicate job), or its campaign is paused (the
            # resume republishes it): no call.
            return
        if claim.result == "busy":
            await self._retry(lane, job, topology.RETRY_DELAYS_S[0])
            return
        try:
            request = build_request(
                method=config.method,
                url=str(config.url),
                content_type=config.content_type,
                payload=config.payload,
                headers=config.headers,
                to=job.to,
                message=job.text,
                message_id=job.message_id,
            )
        except ValueError as exc:
            await self._outcome(job, "error", error=f"gateway configuration: {exc}")
            return
        stored_request = secrets.redact(domain.describe_request(request), self._secrets)
        answer: str | None = None
        if config.rate_per_second is not None:
            # Right before the call, so the gateway sees the slots' spacing. The wait is short
            # (prefetch is tuned to the rate), well within the claim's lease.
            await self.limiter.acquire(config.rate_per_second)
        try:
            status, body = await gateway.send(request)
            answer = secrets.redact(f"HTTP {status}\n{body}", self._secrets)
            verdict: Classification = classify_response(status, body, config.success_text, now=now)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            verdict = classify_exception(exc)
        action = domain.decide(verdict, attempt=claim.attempts, now=now, expires_at=job.expires_at)
        reason = secrets.redact(action.reason, self._secrets) if action.reason else None
        if action.kind == "retry":
            delay = action.delay_s
            if verdict.verdict == "gateway_paused":
                await self._pause(reason or "gateway refuses all messages", verdict, now)
                delay = topology.RETRY_DELAYS_S[0]  # the pause, not the tier, holds it back
            await repo.release(self.pool, job.message_id, claim.attempts, reason or "", answer)
            await self._retry(lane, job.model_copy(update={"attempt": claim.attempts}), delay)
            return
        await self._outcome(
            job,
            action.kind,
            error=reason,
            request=stored_request,
            answer=answer,
            batch_id=verdict.batch_id,
            attempt=claim.attempts,
        )
        if action.kind != "sent":
            log.info("message %s to %s: %s", job.message_id, mask_phone(job.to), reason)

    async def _pause(self, reason: str, verdict: Classification, now: datetime) -> None:
        self.paused = True
        until = now + timedelta(seconds=verdict.retry_after) if verdict.retry_after else None
        await config_store.pause_sms(self.pool, reason, until)
        log.warning("gateway paused: %s (until %s)", reason, until or "resumed by an operator")

    async def _retry(self, lane: topology.JobLane, job: SmsJob, delay_s: int) -> None:
        await self.exchange.publish(
            amqp.json_message(job), routing_key=lane.retry_routing_key(delay_s), mandatory=True
        )

    async def _outcome(
        self,
        job: SmsJob,
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
            status=status,
            error=error,
            gateway_request=request,
            gateway_answer=answer,
            batch_id=batch_id,
            attempt=attempt,
            at=datetime.now(UTC),
        )
        await amqp.publish(self.exchange, topology.RK_OUTCOME, outcome)
