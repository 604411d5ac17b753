"""The answers of the campaign routes: a campaign, its history line, recipients, previews."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from services.campaign.files.models import Attachment
from services.campaign.http.answers import Answer, NonNegative, Page
from shared.models import Filters, Id
from shared.sms import Encoding
from shared.vocabulary import (
    CampaignStatus,
    Channel,
    DocumentType,
    MessageStatus,
    RecipientType,
    SendTo,
)

# The filters as stored: shown as they are, not validated again (a newer validator may refuse
# what an older one stored, and reading a campaign must still work).
StoredFilters = Annotated[dict[str, Any], WithJsonSchema(Filters.model_json_schema())]


class _CampaignFields(Answer):
    id: Id
    recipient_type: RecipientType
    send_to: SendTo
    subject: str
    message: Annotated[str, Field(description="the message template (Jinja2)")]
    template_id: Id | None
    status: CampaignStatus
    failed_reason: Annotated[str | None, Field(description="why a failed campaign failed")] = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    resolved_at: Annotated[
        datetime | None, Field(description="when every recipient was expanded into messages")
    ]
    recipients_total: Annotated[int, Field(ge=0, description="matching people")]
    total: Annotated[int, Field(ge=0, description="messages: one per phone number or address")]
    counts: Annotated[dict[MessageStatus, NonNegative], Field(description="messages per status")]
    # Echoed from the stored request; one stored before these options existed shows the
    # defaults it was sent with.
    send_to_billing_email: bool = False
    attachments: list[Id] = Field(default_factory=list)
    attach_financial_documents: list[DocumentType] = Field(default_factory=list)
    only_if_financial_documents_exist: bool = False


class Campaign(_CampaignFields):
    """A campaign with its counts of messages per status."""

    filters: StoredFilters


class CampaignHistoryItem(_CampaignFields):
    """A campaign as one line of the history."""

    title: Annotated[str, Field(description="the subject, or the message's first line")]


class CampaignList(Page[CampaignHistoryItem]):
    pass


class PreviewRecipient(Answer):
    id: Id
    login: str
    full_name: str
    email: str
    phone: str


def _absent(value: object) -> bool:
    return value is None


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default")  # "null" is not a value these fields take: they are left out


# A field of SMS previews only: left out of other answers (not null).
_SMS_ONLY = Field(default=None, exclude_if=_absent, json_schema_extra=_no_default)


class Preview(BaseModel):
    """Who would get a campaign, and the first one's message; SMS previews add the encoding,
    characters and parts (absent otherwise)."""

    recipients_total: NonNegative
    recipients: list[PreviewRecipient]
    message: Annotated[
        str | None, Field(description="rendered for the first recipient (null when none)")
    ]
    subject: str
    attachments: list[Attachment]
    encoding: Encoding | SkipJsonSchema[None] = _SMS_ONLY
    characters: NonNegative | SkipJsonSchema[None] = _SMS_ONLY
    parts: NonNegative | SkipJsonSchema[None] = _SMS_ONLY


class TestQueued(Answer):
    message_id: Id
    to: str
    message: str


class Recipient(Answer):
    id: Annotated[int, Field(ge=1, le=2**63 - 1, description="the customer's (or lead's) id")]
    login: str | None
    full_name: str | None
    to: str
    status: MessageStatus
    error: str | None
    sent_at: datetime | None
    message_id: Id
    channel: Channel


class RecipientList(Page[Recipient]):
    pass


class SentMessage(Answer):
    id: Id
    channel: Channel
    to: str
    subject: str
    text: str
    status: MessageStatus
    error: str | None
    sent_at: datetime | None


class RecipientMessage(Answer):
    campaign_id: Id
    customer_id: Id
    subject: str
    message: str
    messages: list[SentMessage]
