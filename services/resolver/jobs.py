"""Job messages, built in a few microseconds each: the resolver publishes one per recipient.

The bodies are byte-for-byte what ``SmsJob``/``DeliveryJob.model_dump_json()`` give (same
keys, order and encoder), and the messages carry the same properties as
``shared.amqp.persistent_message``; ``tests/unit/test_resolver_jobs.py`` holds them to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aio_pika
from pamqp.commands import Basic
from pydantic_core import to_json

from shared import amqp

CONTENT_TYPE = "application/json"


def sms_body(message_id: int, campaign_id: int, to: str, text: str, expires_at: datetime) -> bytes:
    """The JSON of ``SmsJob(...)`` (attempt 0), without building and validating a model."""
    # pydantic-core's own encoder: strings and datetimes come out exactly as the model's.
    return to_json(
        {
            "message_id": message_id,
            "campaign_id": campaign_id,
            "to": to,
            "text": text,
            "expires_at": expires_at,
            "attempt": 0,
        }
    )


def delivery_body(
    message_id: int, campaign_id: int, channel: str, to: str, expires_at: datetime
) -> bytes:
    """The JSON of ``DeliveryJob(...)`` (attempt 0), without building a model."""
    return to_json(
        {
            "message_id": message_id,
            "campaign_id": campaign_id,
            "channel": channel,
            "to": to,
            "expires_at": expires_at,
            "attempt": 0,
        }
    )


def _template_fields() -> list[tuple[str, Any]]:
    template = amqp.persistent_message(b"")
    fields = []
    for name in aio_pika.Message.__slots__:
        attribute = f"_Message{name}" if name.startswith("__") else name
        if hasattr(template, attribute):
            fields.append((attribute, getattr(template, attribute)))
    return fields


_FIELDS = _template_fields()


class JobMessage(aio_pika.Message):
    """``shared.amqp.persistent_message(body)`` at a fraction of the cost: aio-pika converts
    and checks each of a message's 15 fields on every construction, while every job has
    the same ones (persistent, JSON, no headers)."""

    __slots__ = ()

    def __init__(self, body: bytes) -> None:  # no super().__init__(): see the class doc
        for name, value in _FIELDS:
            object.__setattr__(self, name, value)
        object.__setattr__(self, "body", body)
        object.__setattr__(self, "body_size", len(body))
        object.__setattr__(self, "headers", {})

    @property
    def properties(self) -> Basic.Properties:
        """The AMQP properties (persistent: a job survives a broker restart)."""
        return Basic.Properties(content_type=CONTENT_TYPE, delivery_mode=2, headers={}, priority=0)
