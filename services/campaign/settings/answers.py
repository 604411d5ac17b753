"""The answers of the settings routes: the gateway and SMTP settings as shown (secrets
masked), a pause, a test send's result."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from services.campaign.http.answers import Answer
from shared.models import EmailConfig, Id, SmsConfig


class Pause(Answer):
    reason: str
    since: datetime
    until: datetime | None


class SmsConfigView(SmsConfig, Answer):
    """The SMS gateway settings; every literal of payload, url and headers that is not a known
    harmless parameter or a placeholder is shown as ***."""

    configured: Annotated[bool, Field(description="false: never saved, these are the defaults")]
    paused: Annotated[
        Pause | None,
        Field(
            description="set when the gateway refused everything (authentication, credit,"
            " quota) until resumed"
        ),
    ]


class SmsResumed(Answer):
    resumed: Annotated[bool, Field(description="it was paused")]


class SmsTestResult(Answer):
    message_id: Id
    to: str
    message: str
    status: Literal["sent", "error"]
    http_status: int | None
    answer: Annotated[
        str,
        Field(
            description="the start of the gateway's answer (at most 500 characters), secrets"
            " removed"
        ),
    ]
    reason: str


class EmailConfigView(EmailConfig, Answer):
    """The SMTP settings; the password is shown as ***."""

    configured: Annotated[bool, Field(description="false: never saved")]
