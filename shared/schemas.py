"""The messages that travel on RabbitMQ between the services (JSON bodies)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from shared.vocabulary import Channel as Channel
from shared.vocabulary import OutcomeStatus as OutcomeStatus

# Ids are Postgres bigints: a larger one could never be stored, so it is malformed.
BIGINT_MAX = 2**63 - 1


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResolveCampaign(_Message):
    """Asks the resolver to expand a campaign into per-recipient jobs."""

    campaign_id: int = Field(gt=0, le=BIGINT_MAX)
    # After a pause: publish again the jobs of every message still new, then go on resolving.
    republish: bool = False


class SmsJob(_Message):
    """One SMS to one number; ``message_id`` is the ledger row and the gateway's dedup id."""

    message_id: int = Field(gt=0, le=BIGINT_MAX)
    campaign_id: int | None = Field(default=None, gt=0, le=BIGINT_MAX)
    to: str = Field(min_length=1, max_length=32)
    text: str = Field(min_length=1, max_length=5000)
    expires_at: datetime
    attempt: int = Field(default=0, ge=0)


class DeliveryJob(_Message):
    """One email or portal message; the sender reads its content from the ledger row."""

    message_id: int = Field(gt=0, le=BIGINT_MAX)
    campaign_id: int | None = Field(default=None, gt=0, le=BIGINT_MAX)
    channel: Literal["email", "portal"]
    to: str = Field(max_length=255)
    expires_at: datetime
    attempt: int = Field(default=0, ge=0)


class Outcome(_Message):
    """What happened to one message; the logger writes it into the ledger."""

    message_id: int = Field(gt=0, le=BIGINT_MAX)
    campaign_id: int | None = Field(default=None, gt=0, le=BIGINT_MAX)
    channel: Channel = "sms"
    status: OutcomeStatus
    error: str | None = None
    gateway_request: str | None = None
    gateway_answer: str | None = None
    batch_id: str | None = None
    attempt: int = 0
    at: datetime

    @field_validator("error", "gateway_request", "gateway_answer", "batch_id")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        # Postgres text cannot hold NUL; a gateway's answer may contain one.
        return value.replace("\x00", "\ufffd") if value else value


# A sender publishes the outcomes of one batch of jobs as one event (one confirm, one
# delivery to the logger instead of one per message).
MAX_OUTCOMES_PER_EVENT = 10_000


class Outcomes(_Message):
    """The outcomes of a batch of jobs, written by the logger like single ones."""

    outcomes: list[Outcome] = Field(min_length=1, max_length=MAX_OUTCOMES_PER_EVENT)


# Both shapes travel on the outcome queue: single events from older senders, batches now.
_OUTCOME_EVENT: TypeAdapter[Outcomes | Outcome] = TypeAdapter(Outcomes | Outcome)


def parse_outcomes(body: bytes) -> list[Outcome]:
    """The outcomes in an outcome event of either shape (``ValidationError`` if neither)."""
    event = _OUTCOME_EVENT.validate_json(body)
    return event.outcomes if isinstance(event, Outcomes) else [event]
