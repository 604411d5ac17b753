"""BulkSMS send_batch requests (pure)."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs

import pytest
from pydantic import HttpUrl, ValidationError

from shared import sms_batch
from shared.models import SmsConfig

EAPI = "https://bulksms.2way.co.za/eapi/submission/send_sms/2/2.0"
PAYLOAD = (
    "username=U&password=P%26Q&message=%MESSAGE%&msisdn=%TO_DIGITS%"
    "&concat_text_sms_max_parts=4&stop_dup_id=%ID%"
)


def _form(body: bytes | None) -> dict[str, list[str]]:
    assert body is not None
    return parse_qs(body.decode(), keep_blank_values=True)


def test_the_batch_address_sits_next_to_send_sms() -> None:
    assert sms_batch.batch_url(EAPI) == (
        "https://bulksms.2way.co.za/eapi/submission/send_batch/1/1.0"
    )
    assert sms_batch.batch_url(EAPI + "?a=1").endswith("/send_batch/1/1.0?a=1")  # type: ignore[union-attr]
    assert sms_batch.batch_url("https://api.bulksms.com/v1/messages") is None


def test_a_batch_keeps_the_common_parameters_and_puts_rows_in_batch_data() -> None:
    rows = [("+27 82 123 4567", 'Hi, "Thandi"\nline two'), ("+27831234567", "plain")]
    request = sms_batch.build_batch_request(
        url=EAPI, payload=PAYLOAD, headers={}, rows=rows, dup_id=42
    )
    assert request.method == "POST" and request.url.endswith("/send_batch/1/1.0")
    form = _form(request.body)
    assert form["username"] == ["U"] and form["password"] == ["P&Q"]
    assert form["stop_dup_id"] == ["42"]
    assert form["concat_text_sms_max_parts"] == ["4"]
    assert "message" not in form and "msisdn" not in form
    parsed = list(csv.reader(io.StringIO(form["batch_data"][0], newline="")))
    assert parsed == [
        ["msisdn", "message"],
        ["27821234567", 'Hi, "Thandi"\nline two'],
        ["27831234567", "plain"],
    ]
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")


def test_an_operator_content_type_wins() -> None:
    request = sms_batch.build_batch_request(
        url=EAPI, payload=PAYLOAD, headers={"content-type": "x/y"}, rows=[("1", "a")], dup_id=1
    )
    assert request.headers == {"content-type": "x/y"}


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"url": "https://api.bulksms.com/v1/messages"}, "BulkSMS EAPI address"),
        ({"method": "GET"}, "POST"),
        ({"content_type": "json"}, "POST"),
        ({"headers": {"X-To": "%TO%"}}, "headers"),
        ({"url": EAPI + "?stop_dup_id=%ID%"}, "placeholders in the address"),
        ({"payload": PAYLOAD.replace("&stop_dup_id=%ID%", "")}, "stop_dup_id=%ID%"),
        ({"payload": PAYLOAD + "&batch_data=x"}, "batch_data"),
    ],
)
def test_settings_that_cannot_batch_say_why(changes: dict[str, object], problem: str) -> None:
    settings: dict[str, object] = {
        "url": EAPI,
        "method": "POST",
        "content_type": "form",
        "payload": PAYLOAD,
        "headers": {},
        **changes,
    }
    found = sms_batch.batch_problem(**settings)  # type: ignore[arg-type]
    assert found is not None and problem in found


def test_batchable_settings_have_no_problem() -> None:
    assert (
        sms_batch.batch_problem(
            url=EAPI, method="POST", content_type="form", payload=PAYLOAD, headers={}
        )
        is None
    )


def test_no_rows_or_too_many_are_refused() -> None:
    with pytest.raises(ValueError):
        sms_batch.build_batch_request(url=EAPI, payload=PAYLOAD, headers={}, rows=[], dup_id=1)
    too_many = [("1", "a")] * (sms_batch.MAX_ROWS + 1)
    with pytest.raises(ValueError):
        sms_batch.build_batch_request(
            url=EAPI, payload=PAYLOAD, headers={}, rows=too_many, dup_id=1
        )


def test_gateway_settings_name_batch_size_when_they_cannot_batch() -> None:
    with pytest.raises(ValidationError) as caught:
        SmsConfig(url=HttpUrl("https://api.bulksms.com/v1/messages"), batch_size=100)
    (error,) = caught.value.errors()
    assert error["loc"] == ("batch_size",) and "BulkSMS EAPI" in error["msg"]
    assert SmsConfig(url=HttpUrl(EAPI), payload=PAYLOAD, batch_size=100).batch_size == 100
