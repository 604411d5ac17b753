"""What every answer model shares: the base, list pages, problem details, bulk results.

Handlers answer with pydantic models (``web.json_response`` takes one); the OpenAPI document
takes its answer schemas from the same models (``model_json_schema``, serialization mode), so
what the API says it returns and what it returns are one definition.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

NonNegative = Annotated[int, Field(ge=0)]


class Answer(BaseModel):
    """An answer model: every field is always present (the document marks them required)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


T = TypeVar("T")


class Page(Answer, Generic[T]):
    """A list answer: ``{"items": [...], "total": N}`` (subclassed once per item type, so the
    document names it)."""

    items: list[T]
    total: Annotated[int, Field(ge=0, description="rows matching, all pages")]


class FieldError(Answer):
    field: str
    message: str


class ProblemDetails(Answer):
    """RFC 9457 problem details (application/problem+json)"""

    type: Annotated[str, Field(json_schema_extra={"format": "uri"})]
    title: str
    status: Annotated[int, Field(ge=400, le=599)]
    detail: str
    errors: Annotated[list[FieldError], Field(description="one entry per bad field")]


class UpsertResult(Answer):
    upserted: NonNegative
