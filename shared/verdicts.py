"""What one delivery attempt came to, as every channel driver reports it (SMS gateway, SMTP
server, portal inbox): the sender's job flow decides on these, whatever the channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verdict = Literal["sent", "retry", "permanent", "gateway_paused"]


@dataclass(frozen=True, slots=True)
class Classification:
    verdict: Verdict
    reason: str  # short human text, e.g. "BulkSMS 24: data validation failed"
    code: int | None  # BulkSMS status code when the body had one
    batch_id: str | None  # BulkSMS batch id (third field) on success
    retry_after: float | None = None  # seconds, when the answer says so
