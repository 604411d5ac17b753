from datetime import UTC, datetime, timedelta

import pytest

from services.sender.domain import decide, for_batch_member
from shared.sms_client import describe_request
from shared.sms_request import HttpRequest
from shared.verdicts import Classification

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def _verdict(kind: str, retry_after: float | None = None) -> Classification:
    return Classification(kind, f"because {kind}", None, None, retry_after)  # type: ignore[arg-type]


def test_sent_and_permanent() -> None:
    assert (
        decide(_verdict("sent"), attempt=1, now=NOW, expires_at=NOW + timedelta(days=2)).kind
        == "sent"
    )
    action = decide(_verdict("permanent"), attempt=1, now=NOW, expires_at=NOW + timedelta(days=2))
    assert (action.kind, action.reason) == ("error", "because permanent")


@pytest.mark.parametrize(
    ("attempt", "delay"), [(1, 5), (2, 30), (3, 120), (4, 600), (5, 3600), (9, 3600)]
)
def test_retries_back_off_by_tier(attempt: int, delay: int) -> None:
    action = decide(_verdict("retry"), attempt=attempt, now=NOW, expires_at=NOW + timedelta(days=2))
    assert (action.kind, action.delay_s) == ("retry", delay)


def test_retry_that_would_pass_expiry_expires() -> None:
    action = decide(_verdict("retry"), attempt=3, now=NOW, expires_at=NOW + timedelta(seconds=60))
    assert action.kind == "expired" and "because retry" in (action.reason or "")


def test_gateway_pause_waits_at_least_retry_after() -> None:
    action = decide(
        _verdict("gateway_paused", 500), attempt=1, now=NOW, expires_at=NOW + timedelta(days=2)
    )
    assert (action.kind, action.delay_s) == ("retry", 600)


def test_describe_request() -> None:
    text = describe_request(HttpRequest("POST", "http://gw/x", {"A": "b"}, b"k=v"))
    assert text == "POST http://gw/x\nA: b\n\nk=v"


def test_a_refused_batch_sends_each_member_to_a_retry_of_its_own() -> None:
    refused = Classification("permanent", "BulkSMS 24: data validation failed", 24, None)
    member = for_batch_member(refused)
    assert (member.verdict, member.code) == ("retry", 24)
    assert "batch refused (BulkSMS 24" in member.reason


@pytest.mark.parametrize("verdict", ["sent", "retry", "gateway_paused"])
def test_other_batch_verdicts_hold_for_each_member(verdict: str) -> None:
    answer = Classification(verdict, "x", 0, "4712")  # type: ignore[arg-type]
    assert for_batch_member(answer) is answer
