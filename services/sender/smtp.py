"""The email driver: MIME messages over SMTP (aiosmtplib), rate-limited per hour."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import aiosmtplib

from services.sender import domain, repo
from services.sender.drivers import Delivery, Job
from services.sender.mime import build_email
from services.sender.ratelimit import SharedRateLimiter
from shared import outbound, secrets
from shared.db import Pool
from shared.models import EmailConfig
from shared.schemas import DeliveryJob
from shared.verdicts import Classification

_NO_CAPACITY = asyncio.Semaphore(1)


class EmailDriver:
    """Sends one email per job through the configured SMTP server."""

    channel = "email"

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.config: EmailConfig | None = None
        self.limiter = SharedRateLimiter(pool, "email")
        self._capacity = _NO_CAPACITY

    def __repr__(self) -> str:
        config = self.config
        server = f"{config.host}:{config.port} enabled={config.enabled}" if config else "none"
        return f"<EmailDriver server={server} {self.limiter!r}>"

    async def apply_config(self, config: EmailConfig | None) -> None:
        """Use a new SMTP configuration from now on."""
        if config != self.config:
            self.config = config
            self._capacity = asyncio.Semaphore(config.max_connections) if config else _NO_CAPACITY

    def usable(self) -> bool:
        return self.config is not None and self.config.enabled

    @property
    def capacity(self) -> asyncio.Semaphore:
        return self._capacity

    @property
    def batch_limit(self) -> int:
        return self.config.max_connections if self.config else 1

    @property
    def lease(self) -> timedelta:
        return domain.claim_lease(self.config.timeout_seconds if self.config else 30)

    @property
    def rate_per_second(self) -> float | None:
        if self.config is None or self.config.limit_per_hour is None:
            return None
        return self.config.limit_per_hour / 3600

    def redact(self, text: str) -> str:
        password = self.config.password if self.config else ""
        return secrets.redact(text, [password] if password else [])

    async def deliver(self, job: Job) -> Delivery:
        assert isinstance(job, DeliveryJob) and self.config is not None
        config = self.config
        content = await repo.content(self.pool, job.message_id)
        if content is None:
            return Delivery(Classification("permanent", "message not found", None, None))
        message = build_email(
            message_id=job.message_id,
            from_address=config.from_address,
            from_name=config.from_name,
            to=job.to,
            subject=content.subject,
            body_html=content.text,
            files=content.files,
        )
        if self.rate_per_second is not None:
            await self.limiter.acquire(self.rate_per_second)
        # Connect ourselves so the outbound policy judges the address actually dialled.
        sock = await outbound.connect(
            outbound.policy(), config.host, config.port, config.timeout_seconds
        )
        response, _ = await aiosmtplib.send(
            message,
            hostname=config.host,
            sock=sock,
            username=config.username or None,
            password=config.password or None,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            validate_certs=config.verify_tls,
            timeout=config.timeout_seconds,
        )
        answer = "; ".join(f"{to}: {r.code} {r.message}" for to, r in response.items())
        request = f"SMTP {config.host}:{config.port} MAIL TO {job.to}"
        verdict = Classification("sent", "accepted", None, None)
        return Delivery(verdict, request, self.redact(answer or "250 accepted"))

    async def paused_by(self, delivery: Delivery, now: datetime) -> None:
        # No shared pause for email yet: an authentication failure retries until expiry.
        return None
