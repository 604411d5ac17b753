"""The sender's verdict on an SMTP failure: what retries, what is final, what pauses the lane."""

from __future__ import annotations

import aiosmtplib
import pytest

from services.sender.domain import classify_smtp


@pytest.mark.parametrize(
    "exc",
    [
        aiosmtplib.SMTPResponseException(550, "mailbox unavailable"),
        aiosmtplib.SMTPDataError(554, "message refused"),
        aiosmtplib.SMTPSenderRefused(553, "sender refused", "noc@example.net"),
    ],
)
def test_a_5xx_reply_is_final(exc: aiosmtplib.SMTPResponseException) -> None:
    verdict = classify_smtp(exc)
    assert (verdict.verdict, verdict.code) == ("permanent", exc.code)
    assert verdict.reason == f"SMTP {exc.code}: {exc.message}"


@pytest.mark.parametrize(
    "exc",
    [
        aiosmtplib.SMTPResponseException(421, "service not available"),
        aiosmtplib.SMTPDataError(451, "try again later"),
        aiosmtplib.SMTPAuthenticationError(454, "temporary authentication failure"),
    ],
)
def test_a_4xx_reply_retries(exc: aiosmtplib.SMTPResponseException) -> None:
    verdict = classify_smtp(exc)
    assert (verdict.verdict, verdict.code) == ("retry", exc.code)
    assert verdict.reason == f"SMTP {exc.code}: {exc.message}"


def test_refused_credentials_pause_the_gateway_instead_of_failing_every_message() -> None:
    verdict = classify_smtp(aiosmtplib.SMTPAuthenticationError(535, "bad credentials"))
    assert (verdict.verdict, verdict.code) == ("gateway_paused", 535)
    assert verdict.reason == "SMTP 535: bad credentials"


@pytest.mark.parametrize(("code", "kind"), [(550, "permanent"), (450, "retry")])
def test_refused_recipients_take_the_first_refusal_s_code(code: int, kind: str) -> None:
    refused = [
        aiosmtplib.SMTPRecipientRefused(code, "no such user", "a@example.net"),
        aiosmtplib.SMTPRecipientRefused(451, "later", "b@example.net"),
    ]
    verdict = classify_smtp(aiosmtplib.SMTPRecipientsRefused(refused))
    assert (verdict.verdict, verdict.code) == (kind, code)


@pytest.mark.parametrize(
    "exc",
    [
        aiosmtplib.SMTPServerDisconnected("connection lost"),
        aiosmtplib.SMTPConnectError("connection refused"),
        aiosmtplib.SMTPReadTimeoutError("timed out"),
        ConnectionResetError("reset by peer"),
        aiosmtplib.SMTPRecipientsRefused([]),
    ],
)
def test_a_failure_without_a_reply_code_retries(exc: Exception) -> None:
    verdict = classify_smtp(exc)
    assert (verdict.verdict, verdict.code) == ("retry", None)
    assert verdict.reason.startswith(f"connection failed: {type(exc).__name__}: ")


def test_a_long_server_message_is_cut_short() -> None:
    verdict = classify_smtp(aiosmtplib.SMTPResponseException(550, "x" * 1000))
    assert verdict.reason == "SMTP 550: " + "x" * 300
