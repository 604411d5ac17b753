"""The SMS driver: a generic HTTP gateway (BulkSMS EAPI by default)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from services.sender import domain
from services.sender.drivers import Delivery, Job
from services.sender.ratelimit import SharedRateLimiter
from shared import config_store, secrets
from shared.db import Pool
from shared.models import SmsConfig
from shared.schemas import SmsJob
from shared.sms_client import Gateway
from shared.sms_gateway import Classification, classify_response

log = logging.getLogger(__name__)

_NO_CAPACITY = asyncio.Semaphore(1)


class SmsDriver:
    """Sends one SMS per job through the configured gateway."""

    channel = "sms"

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
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

    def usable(self) -> bool:
        return self.gateway is not None and self.gateway.config.enabled and not self.paused

    @property
    def capacity(self) -> asyncio.Semaphore:
        return self.gateway.capacity if self.gateway else _NO_CAPACITY

    @property
    def lease(self) -> timedelta:
        return domain.claim_lease(self.config.timeout_seconds if self.config else 15)

    @property
    def rate_per_second(self) -> float | None:
        return self.config.rate_per_second if self.config else None

    def redact(self, text: str) -> str:
        return secrets.redact(text, self._secrets)

    async def deliver(self, job: Job) -> Delivery:
        assert isinstance(job, SmsJob) and self.gateway is not None
        config = self.gateway.config
        try:
            request = self.gateway.request(job.to, job.text, job.message_id)
        except ValueError as exc:
            verdict = Classification("permanent", f"gateway configuration: {exc}", None, None)
            return Delivery(verdict)
        stored = self.redact(domain.describe_request(request))
        if config.rate_per_second is not None:
            # Right before the call, so the gateway sees the slots' spacing.
            await self.limiter.acquire(config.rate_per_second)
        status, body = await self.gateway.send(request)
        verdict = classify_response(status, body, config.success_text, now=datetime.now(UTC))
        return Delivery(verdict, stored, self.redact(f"HTTP {status}\n{body}"))

    async def paused_by(self, delivery: Delivery, now: datetime) -> None:
        self.paused = True
        verdict = delivery.verdict
        until = now + timedelta(seconds=verdict.retry_after) if verdict.retry_after else None
        reason = self.redact(verdict.reason)
        await config_store.pause_sms(self.pool, reason, until)
        log.warning("gateway paused: %s (until %s)", reason, until or "resumed by an operator")
