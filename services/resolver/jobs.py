"""Job messages, built in a few microseconds each: the resolver publishes one per recipient.

The bodies are byte-for-byte what ``SmsJob``/``DeliveryJob.model_dump_json()`` give (same
keys, order and encoder), and the messages carry the same properties as
``shared.amqp.persistent_message``; ``tests/unit/test_resolver_jobs.py`` holds them to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

# aiormq (aio-pika's own protocol layer, declared in pyproject.toml) defines the properties
# type that AbstractMessage.properties returns.
import aiormq
from aio_pika import DeliveryMode
from aio_pika.abc import AbstractMessage, MessageInfo
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


# Every job has the properties of ``persistent_message``; only the body and the (fresh)
# headers differ, so the description is computed once.
_INFO: MessageInfo = amqp.persistent_message(b"").info()


class JobMessage(AbstractMessage):
    """``shared.amqp.persistent_message(body)`` at a fraction of the cost: ``aio_pika.Message``
    converts and checks each of a message's 15 fields on every construction, while every job
    has the same ones (persistent, JSON, no headers). It implements aio-pika's public
    ``AbstractMessage``, which is all ``Exchange.publish`` reads (body and properties)."""

    __slots__ = ("_locked", "body", "body_size", "headers")

    content_type = CONTENT_TYPE
    content_encoding = None
    delivery_mode = DeliveryMode.PERSISTENT
    priority = 0
    correlation_id = None
    reply_to = None
    expiration = None
    message_id = None
    timestamp = None
    type = None
    user_id = None
    app_id = None

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.body_size = len(body)
        self.headers = {}
        self._locked = False

    @property
    def properties(self) -> aiormq.spec.Basic.Properties:
        """The AMQP properties (persistent: a job survives a broker restart). New ones each
        time: aiormq writes into them when it publishes."""
        return aiormq.spec.Basic.Properties(
            content_type=CONTENT_TYPE,
            delivery_mode=int(DeliveryMode.PERSISTENT),
            headers=self.headers,
            priority=0,
        )

    def info(self) -> MessageInfo:
        """What ``aio_pika.Message.info()`` says of the same message."""
        return {**_INFO, "body_size": self.body_size, "headers": self.headers}

    @property
    def locked(self) -> bool:
        return self._locked

    def lock(self) -> None:
        self._locked = True

    def __iter__(self) -> Iterator[int]:
        return iter(self.body)
