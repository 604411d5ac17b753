"""A message template as the API takes it and as it answers it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.campaign.http.answers import Answer, Page
from shared import templates
from shared.models import HeaderText, Id
from shared.vocabulary import Channel


class TemplateBody(BaseModel):
    """A message template."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(min_length=1, max_length=255)]
    description: Annotated[str, Field(max_length=2000)] = ""
    channel: Channel
    subject: Annotated[HeaderText, Field(max_length=1000)] = ""
    body: Annotated[str, Field(min_length=1, max_length=templates.MAX_SOURCE_LENGTH)]


class Template(TemplateBody, Answer):
    """A stored message template."""

    id: Id
    created_at: datetime
    updated_at: datetime


class TemplateList(Page[Template]):
    pass
