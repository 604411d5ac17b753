"""The resolver's hand-built jobs are exactly what the schemas would produce."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.resolver.jobs import JobMessage, delivery_body, sms_body
from shared import amqp
from shared.schemas import DeliveryJob, SmsJob

TEXTS = [
    "Hi Thandi, your balance is 120.5",
    'quotes " and \\ backslash / slash',
    "new\nline\ttab\rreturn \x00 nul \x1f unit \x7f del \b\f",
    "ünïcödé — emoji 📱 — CJK 中文 — RTL العربية — \u2028 \u2029 \ufeff",
    "x" * 4999,
]
WHEN = [
    datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
    datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
    datetime(2026, 5, 1, 12, 0, 0, 1000, tzinfo=timezone(timedelta(hours=2))),
    datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("expires_at", WHEN)
def test_sms_body_is_the_model_json(text: str, expires_at: datetime) -> None:
    for message_id, campaign_id, to in [(1, 1, "+27821234567"), (2**63 - 1, 2**63 - 1, text[:32])]:
        body = sms_body(message_id, campaign_id, to, text, expires_at)
        model = SmsJob(
            message_id=message_id, campaign_id=campaign_id, to=to, text=text, expires_at=expires_at
        )
        assert body == model.model_dump_json().encode()
        assert SmsJob.model_validate_json(body) == model


@pytest.mark.parametrize("channel", ["email", "portal"])
@pytest.mark.parametrize("expires_at", WHEN)
def test_delivery_body_is_the_model_json(channel: str, expires_at: datetime) -> None:
    for to in ["a@b.example", "portal", 'ünï "x" \\ \n@y.example']:
        body = delivery_body(7, 3, channel, to, expires_at)
        model = DeliveryJob(
            message_id=7,
            campaign_id=3,
            channel=channel,  # type: ignore[arg-type]
            to=to,
            expires_at=expires_at,
        )
        assert body == model.model_dump_json().encode()


def test_job_message_is_a_persistent_json_message() -> None:
    body = sms_body(1, 2, "+27821234567", "Hi", WHEN[0])
    fast, reference = JobMessage(body), amqp.persistent_message(body)
    assert fast.body == reference.body and fast.body_size == reference.body_size
    assert fast.properties == reference.properties
    assert fast.info() == reference.info()
    assert fast.properties.delivery_mode == 2
    assert fast.properties.content_type == "application/json"
    # Each message gets its own properties and headers: aiormq writes a message id into them.
    assert fast.properties is not fast.properties
    assert fast.headers is not JobMessage(body).headers
