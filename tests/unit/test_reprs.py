"""The long-lived objects say what state they are in, and never a credential."""

from __future__ import annotations

from typing import Any, cast

from pydantic import HttpUrl

from services.logger.handlers import BatchWriter
from services.resolver.handlers import Resolver
from services.sender.batching import Batcher
from services.sender.handlers import Sender
from services.sender.portal import PortalDriver
from services.sender.ratelimit import SharedRateLimiter
from services.sender.sms import SmsDriver
from services.sender.smtp import EmailDriver
from shared.models import EmailConfig, SmsConfig
from shared.settings import Settings

NO_POOL = cast(Any, None)  # constructing these does no I/O


async def _nothing(items: list[int]) -> None:
    return None


async def test_batcher_and_limiter_show_their_queues() -> None:
    batcher = Batcher(_nothing, max_size=lambda: 7, concurrency=2)
    assert repr(batcher) == "<Batcher pending=0 batches=0 max_size=7 closed=False>"
    limiter = SharedRateLimiter(NO_POOL, "sms")
    assert repr(limiter) == "<SharedRateLimiter 'sms' slots=0 waiting=0>"


async def test_sms_driver_shows_the_gateway_host_but_no_credential() -> None:
    driver = SmsDriver(NO_POOL)
    assert repr(driver).startswith("<SmsDriver gateway=none paused=False")
    await driver.apply_config(
        SmsConfig(
            url=HttpUrl("https://gw.example.net/send?api_key=SECRETKEY"),
            payload="username=u&password=HUNTER2&msisdn=%TO_DIGITS%&message=%MESSAGE%",
            rate_per_second=5,
        )
    )
    try:
        text = repr(driver)
    finally:
        await driver.close()
    assert "gateway=gw.example.net enabled=True" in text and "rate_per_second=5" in text
    assert "SECRETKEY" not in text and "HUNTER2" not in text


async def test_other_drivers_and_services() -> None:
    email = EmailDriver(NO_POOL)
    assert repr(email).startswith("<EmailDriver server=none")
    await email.apply_config(EmailConfig(host="smtp.example.net", password="HUNTER2"))
    assert "server=smtp.example.net:" in repr(email) and "HUNTER2" not in repr(email)
    portal = PortalDriver(NO_POOL)
    assert repr(portal).startswith("<PortalDriver capacity=16")
    sender = Sender(NO_POOL, NO_POOL, NO_POOL, {"portal": portal, "email": email})
    assert repr(sender) == "<Sender drivers=['email', 'portal'] lanes={}>"
    resolver = Resolver(Settings(resolver_batch_size=250), NO_POOL, NO_POOL, NO_POOL)
    assert repr(resolver) == "<Resolver batch_size=250 stopping=False>"
    writer = BatchWriter(NO_POOL, NO_POOL, 500, 0.05)
    assert repr(writer) == "<BatchWriter queued=0 batch_size=500 max_wait_s=0.05>"
