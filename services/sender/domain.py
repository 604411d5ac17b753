"""Pure rules of the sender: what to do with a gateway's verdict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from shared import outbound, topology
from shared.verdicts import Classification

ActionKind = Literal["sent", "error", "expired", "retry"]

# Time to publish the outcome after the gateway answered, with room to spare.
_LEASE_MARGIN_S = 15.0


@dataclass(frozen=True, slots=True)
class Action:
    """The next step for one message."""

    kind: ActionKind
    reason: str | None = None
    delay_s: int = 0


def decide(verdict: Classification, *, attempt: int, now: datetime, expires_at: datetime) -> Action:
    """Sent, permanent error, or retry after the tier's delay unless that passes the expiry.

    ``attempt`` counts the gateway calls made so far for this message, this one included.
    """
    if verdict.verdict == "sent":
        return Action("sent")
    if verdict.verdict == "permanent":
        return Action("error", verdict.reason)
    delay = topology.retry_delay_for(attempt)
    if verdict.retry_after is not None:
        delay = max(delay, _tier_at_least(verdict.retry_after))
    if now + timedelta(seconds=delay) >= expires_at:
        return Action("expired", f"not sent before expiry; last answer: {verdict.reason}")
    return Action("retry", verdict.reason, delay)


def for_batch_member(verdict: Classification) -> Classification:
    """A batch's verdict as one of its messages takes it. One bad row refuses the whole
    submission, so a refusal is no verdict on this message: it is retried on its own
    (attempts > 1 never batch again) and gets its own."""
    if verdict.verdict != "permanent":
        return verdict
    reason = f"batch refused ({verdict.reason}); retried on its own"
    return Classification("retry", reason, verdict.code, None)


def claim_lease(timeout_seconds: float) -> timedelta:
    """How long a claim holds: a job redelivered while its first sender may still be talking
    to the gateway is deferred, not sent a second time. A batch is claimed at once, so a job
    may first wait for the calls of the batch ahead of it on the same connections."""
    return timedelta(seconds=2 * timeout_seconds + _LEASE_MARGIN_S)


def _tier_at_least(seconds: float) -> int:
    for tier in topology.RETRY_DELAYS_S:
        if tier >= seconds:
            return tier
    return topology.RETRY_DELAYS_S[-1]


def classify_smtp(exc: BaseException) -> Classification:
    """An SMTP failure: 4xx replies and lost connections retry, 5xx replies are final."""
    blocked = outbound.refusal_in(exc)
    if blocked is not None:
        return Classification("gateway_paused", f"outbound policy: {blocked}", None, None)
    code = getattr(exc, "code", None)
    refused = getattr(exc, "recipients", None)
    if code is None and refused:
        code = getattr(refused[0], "code", None)
    message = str(getattr(exc, "message", "") or exc)[:300]
    name = type(exc).__name__
    if isinstance(code, int) and code >= 500:
        if name == "SMTPAuthenticationError":
            return Classification("gateway_paused", f"SMTP {code}: {message}", code, None)
        return Classification("permanent", f"SMTP {code}: {message}", code, None)
    if isinstance(code, int) and code >= 400:
        return Classification("retry", f"SMTP {code}: {message}", code, None)
    return Classification("retry", f"connection failed: {name}: {message}", None, None)
