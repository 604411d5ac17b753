"""What every channel driver gives the sender's common job flow."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from services.sender.ratelimit import SharedRateLimiter
from shared.schemas import DeliveryJob, SmsJob
from shared.verdicts import Classification

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
    def batch_limit(self) -> int:
        """The most jobs one batch claims: what the driver can have in flight at once."""

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


@runtime_checkable
class BatchingDriver(Driver, Protocol):
    """A driver that can also hand many first attempts to its gateway in one request."""

    @property
    def batch_size(self) -> int:
        """The most messages in one request; 0 or 1 when batches are off."""

    async def deliver_batch(self, jobs: list[Job]) -> list[Delivery]:
        """One attempt at delivering all ``jobs`` together: a delivery per job, in order."""
