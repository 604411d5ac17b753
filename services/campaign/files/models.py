"""Files as the API takes and answers them: uploaded attachments, financial documents."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.campaign.http.answers import Answer
from shared.models import Id
from shared.vocabulary import DocumentType


class Attachment(Answer):
    """An uploaded file emails may carry."""

    id: Id
    filename: str
    content_type: Annotated[str, Field(description="sniffed from the content")]
    size: Annotated[int, Field(ge=1)]


class Document(BaseModel):
    """A customer's financial document (invoice, proforma invoice, payment) and its PDF."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    customer_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    type: DocumentType
    number: Annotated[str, Field(min_length=1, max_length=100)]
    date: date
    amount: Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
    status: Annotated[str, Field(max_length=50)] = ""
    filename: Annotated[str, Field(max_length=255)] = ""
    pdf: Annotated[str, Field(min_length=1, max_length=14_000_000, description="base64")]
