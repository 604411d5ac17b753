"""A message of the customer portal inbox, as the API answers it."""

from __future__ import annotations

from datetime import datetime

from services.campaign.http.answers import Answer, Page
from shared.models import Id


class PortalMessage(Answer):
    """A message in a customer's portal inbox."""

    id: Id
    subject: str
    body: str
    created_at: datetime
    read_at: datetime | None
    message_id: Id


class PortalMessageList(Page[PortalMessage]):
    pass
