"""The SMS driver: a generic HTTP gateway (BulkSMS EAPI by default)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from services.sender import domain
from services.sender.drivers import Delivery, Job
from services.sender.ratelimit import SharedRateLimiter
from shared import config_store, sms_batch, sms_client
from shared.db import Pool
from shared.models import SmsConfig
from shared.schemas import SmsJob
from shared.sms_answer import classify_exception, classify_response
from shared.sms_client import Gateway
from shared.sms_request import HttpRequest
from shared.verdicts import Classification

log = logging.getLogger(__name__)

_NO_CAPACITY = asyncio.Semaphore(1)
# A batch whose outcome is unknown (timeout, lost connection) is sent again as it was, with
# the same stop_dup_id, so that the gateway drops it if the first one got through.
BATCH_RESENDS = 2
BATCH_RESEND_BACKOFF_S = 1.0


class SmsDriver:
    """Sends one SMS per job through the configured gateway."""

    channel = "sms"

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.config: SmsConfig | None = None
        self.gateway: Gateway | None = None
        self.paused = False
        self.limiter = SharedRateLimiter(pool, "sms")

    def __repr__(self) -> str:
        config = self.config
        # The host only: the URL's query may hold credentials.
        gateway = (
            f"{urlsplit(str(config.url)).hostname} enabled={config.enabled}" if config else "none"
        )
        return (
            f"<SmsDriver gateway={gateway} paused={self.paused} batch_size={self.batch_size}"
            f" rate_per_second={self.rate_per_second} {self.limiter!r}>"
        )

    async def apply_config(self, config: SmsConfig | None) -> None:
        """Use a new gateway configuration from now on (in-flight calls finish on the old)."""
        if config == self.config:
            return
        old, self.config = self.gateway, config
        self.gateway = Gateway(config) if config is not None else None
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
    def batch_limit(self) -> int:
        if self.config is None:
            return 1
        return max(self.batch_size, self.config.max_connections)

    @property
    def batch_size(self) -> int:
        config = self.config
        # A rate limit counts one slot per request of one SMS: batches would bypass it.
        return config.batch_size if config and config.rate_per_second is None else 0

    @property
    def lease(self) -> timedelta:
        timeout = self.config.timeout_seconds if self.config else 15
        if self.batch_size > 1:
            # The claims of a batch hold through its resends.
            backoff = sum(BATCH_RESEND_BACKOFF_S * 2**i for i in range(BATCH_RESENDS))
            return domain.claim_lease(timeout * (BATCH_RESENDS + 1) + backoff)
        return domain.claim_lease(timeout)

    @property
    def rate_per_second(self) -> float | None:
        return self.config.rate_per_second if self.config else None

    def redact(self, text: str) -> str:
        return self.gateway.redact(text) if self.gateway is not None else text

    async def deliver(self, job: Job) -> Delivery:
        assert isinstance(job, SmsJob) and self.gateway is not None
        rate = self.gateway.config.rate_per_second
        pace = (lambda: self.limiter.acquire(rate)) if rate is not None else None
        call = await sms_client.deliver(self.gateway, job.to, job.text, job.message_id, pace=pace)
        return Delivery(call.verdict, call.request, call.answer)

    async def paused_by(self, delivery: Delivery, now: datetime) -> None:
        self.paused = True
        verdict = delivery.verdict
        until = now + timedelta(seconds=verdict.retry_after) if verdict.retry_after else None
        reason = self.redact(verdict.reason)
        await config_store.pause_sms(self.pool, reason, until)
        log.warning("gateway paused: %s (until %s)", reason, until or "resumed by an operator")

    async def deliver_batch(self, jobs: list[Job]) -> list[Delivery]:
        # One snapshot of the settings for the whole batch: a configuration change while it
        # is in flight must not make the bookkeeping after the call fail.
        gateway = self.gateway
        assert gateway is not None and all(isinstance(job, SmsJob) for job in jobs)
        config = gateway.config
        rows = [(job.to, job.text) for job in jobs if isinstance(job, SmsJob)]
        dup_id = min(job.message_id for job in jobs)
        try:
            request = _batch_request(config, rows, dup_id)
            stored = [_batch_request(config, [row], dup_id) for row in rows]
        except ValueError as exc:
            verdict = Classification("permanent", f"gateway configuration: {exc}", None, None)
            return [Delivery(verdict) for _ in jobs]
        for resend in range(BATCH_RESENDS + 1):
            answer: str | None = None
            try:
                async with gateway.capacity:
                    status, body = await gateway.send(request)
                verdict = classify_response(
                    status, body, config.success_text, now=datetime.now(UTC)
                )
                answer = self.redact(f"HTTP {status}\n{body}")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                verdict = classify_exception(exc)
            if verdict.verdict != "retry" or resend == BATCH_RESENDS:
                break
            await asyncio.sleep(BATCH_RESEND_BACKOFF_S * 2**resend)
        note = f"(row of a send_batch of {len(jobs)}, stop_dup_id {dup_id})"
        return [Delivery(verdict, self._stored(one, note), answer) for one in stored]

    def _stored(self, request: HttpRequest, note: str) -> str:
        return self.redact(sms_client.describe_request(request) + "\n" + note)


def _batch_request(config: SmsConfig, rows: list[tuple[str, str]], dup_id: int) -> HttpRequest:
    return sms_batch.build_batch_request(
        url=str(config.url),
        payload=config.payload,
        headers=config.headers,
        rows=rows,
        dup_id=dup_id,
    )
