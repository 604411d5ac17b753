"""API tokens as the API takes and answers them (never with a stored secret)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.campaign.http.answers import Answer, Page
from services.campaign.http.rules import Role
from shared.models import Id


class TokenView(Answer):
    """An API token, without its secret."""

    id: Id
    name: str
    role: Role
    partner_id: Annotated[
        Id | None, Field(description="set: the token sees only this partner's data")
    ]
    prefix: Annotated[str, Field(description="the token's first characters")]
    created_at: datetime
    last_used_at: Annotated[
        datetime | None, Field(description="approximate (noted at most every few seconds)")
    ]
    revoked_at: datetime | None


class TokenCreated(TokenView):
    """A new API token; `token` is shown only in this answer."""

    token: Annotated[str, Field(description="the secret: Authorization: Bearer …")]


class TokenList(Page[TokenView]):
    pass


class TokenRequest(BaseModel):
    """The body of ``POST /tokens``."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    partner_id: Id | None = None
    # No control characters (Postgres refuses NUL in text).
    name: Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""
