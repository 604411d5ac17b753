"""The audit trail as the API answers it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from services.campaign.http.answers import Answer, Page
from shared.models import Id

# What the trail records changes of.
AuditKind = Literal["sms_settings", "email_settings", "token", "template"]
AUDIT_KINDS: tuple[AuditKind, ...] = ("sms_settings", "email_settings", "token", "template")
AuditAction = Literal["replace", "create", "update", "delete", "revoke"]


class AuditEntry(Answer):
    """One change: who made it, when, to what."""

    id: Id
    at: datetime
    token_id: Annotated[Id | None, Field(description="the API token; null: the bootstrap token")]
    kind: AuditKind
    action: AuditAction
    object_id: Annotated[str, Field(description="the token's or template's id; '' for settings")]


class AuditList(Page[AuditEntry]):
    pass
