"""What every channel driver gives the sender's common job flow."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from services.sender.ratelimit import SharedRateLimiter
from shared.schemas import DeliveryJob, SmsJob
from shared.sms_gateway import Classification

Job = SmsJob | DeliveryJob


@dataclass(frozen=True, slots=True)
class Delivery:
    """The result of one attempt: the verdict, and what to keep in the log (redacted)."""

    verdict: Classification
    request: str | None = None
    answer: str | None = None


class Driver(Protocol):
    """One channel (SMS gateway, SMTP server, portal inbox) as the job flow sees it."""

    channel: str
    limiter: SharedRateLimiter

    def usable(self) -> bool:
        """Configured, enabled and not paused: jobs may be claimed."""

    @property
    def capacity(self) -> asyncio.Semaphore:
        """Held while a job is claimed and delivered."""

    @property
    def lease(self) -> timedelta:
        """How long a claim holds before another sender may take the message over."""

    @property
    def rate_per_second(self) -> float | None:
        """The shared rate limit of the channel, if any."""

    async def deliver(self, job: Job) -> Delivery:
        """One attempt at delivering the message (exceptions are classified by the caller)."""

    async def paused_by(self, delivery: Delivery, now: datetime) -> None:
        """The channel refused everything (credentials, credit): stop using it."""

    def redact(self, text: str) -> str:
        """``text`` without any credential of the channel."""
