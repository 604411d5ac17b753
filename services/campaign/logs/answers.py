"""The answers of the log routes: message log rows, their detail, dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from services.campaign.http.answers import Answer, NonNegative, Page
from shared.models import Id
from shared.vocabulary import DeliveryStatus, MessageStatus, MessageType, RecipientType


class SmsLogEntry(Answer):
    """One message of the SMS (or email) log."""

    id: Id
    recipient: Annotated[str, Field(description="the phone number (E.164)")]
    type: MessageType
    status: MessageStatus
    added_at: datetime
    sent_at: datetime | None
    customer_id: Id | None
    recipient_kind: RecipientType | None
    campaign_id: Id | None
    error: str | None
    attempts: NonNegative
    delivery_status: Annotated[
        DeliveryStatus | None,
        Field(description="from the gateway's delivery report, when one arrived"),
    ]
    delivered_at: datetime | None


class SmsLogDetail(SmsLogEntry):
    """One message with its text, attempts and the gateway's answer."""

    text: str
    gateway_request: Annotated[str | None, Field(description="credentials removed")]
    gateway_answer: Annotated[str | None, Field(description="credentials removed")]
    batch_id: str | None
    expires_at: datetime
    subject: str
    attachments: list[Id]
    documents: list[Id]


class SmsLogList(Page[SmsLogEntry]):
    pass


class DeadLetter(Answer):
    id: Id
    source: Annotated[str, Field(description="routing key it was sent with")]
    reason: str
    body: Annotated[str, Field(description="the message body (bytea escape)")]
    headers: dict[str, Any]
    received_at: datetime


class DeadLetterList(Page[DeadLetter]):
    pass
