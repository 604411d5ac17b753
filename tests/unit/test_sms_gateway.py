import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import pytest

from shared.secrets import redact, secret_values
from shared.sms_answer import classify_exception, classify_response
from shared.sms_request import ContentType, HttpRequest, Method, build_request, validate_payload
from shared.verdicts import Classification

BULKSMS_URL = "https://bulksms.vsms.net/eapi/submission/send_sms/2/2.0"
BULKSMS_PAYLOAD = (
    "username=U&password=P&message=%MESSAGE%&msisdn=%TO_DIGITS%"
    "&concat_text_sms_max_parts=4&stop_dup_id=%ID%"
)
BULKSMS_SUCCESS = "0|IN_PROGRESS|"

PRIVET = "\u041f\u0440\u0438\u0432\u0435\u0442"  # "Privet" in Cyrillic
EMOJI = "\U0001f600"
# Every character that form encoding or JSON escaping must protect.
NASTY = f'a&b=c+d%e 100% "q" \\back\\ x\ny\r\tz {PRIVET} {EMOJI} %TO% </script>'


def build(
    *,
    method: Method = "POST",
    url: str = "https://gw.example/send",
    content_type: ContentType = "form",
    payload: str = "to=%TO%&text=%MESSAGE%",
    headers: Mapping[str, str] | None = None,
    to: str = "+4712345678",
    message: str = "hello",
    message_id: int = 42,
    sender: str = "",
) -> HttpRequest:
    return build_request(
        method=method,
        url=url,
        content_type=content_type,
        payload=payload,
        headers=headers or {},
        to=to,
        message=message,
        message_id=message_id,
        sender=sender,
    )


def form_fields(request: HttpRequest) -> dict[str, list[str]]:
    assert request.body is not None
    return parse_qs(request.body.decode("ascii"), keep_blank_values=True, strict_parsing=True)


# --------------------------------------------------------------------------------------------
# Form bodies
# --------------------------------------------------------------------------------------------


def test_form_bulksms_default_payload() -> None:
    request = build(url=BULKSMS_URL, payload=BULKSMS_PAYLOAD, message="Hi there", message_id=987)
    assert request.method == "POST"
    assert request.url == BULKSMS_URL
    assert request.headers == {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    assert request.body == (
        b"username=U&password=P&message=Hi+there&msisdn=4712345678"
        b"&concat_text_sms_max_parts=4&stop_dup_id=987"
    )


@pytest.mark.parametrize(
    "message",
    [
        "a&b",
        "key=value",
        "1+1",
        "100%",
        "%41",
        "two  spaces ",
        "line1\nline2\r\nline3",
        PRIVET,
        EMOJI,
        NASTY,
    ],
)
def test_form_values_round_trip(message: str) -> None:
    request = build(
        payload="to=%TO%&digits=%TO_DIGITS%&text=%MESSAGE%&id=%ID%&from=%PARTNER%",
        message=message,
        sender="Shop & Co=1",
    )
    assert form_fields(request) == {
        "to": ["+4712345678"],
        "digits": ["4712345678"],
        "text": [message],
        "id": ["42"],
        "from": ["Shop & Co=1"],
    }


def test_form_body_is_ascii_and_utf8_percent_encoded() -> None:
    request = build(message=f"{PRIVET} {EMOJI}")
    assert request.body is not None
    request.body.decode("ascii")  # nothing raw on the wire
    assert quote_plus(PRIVET).encode() in request.body
    assert b"%F0%9F%98%80" in request.body  # emoji as UTF-8 bytes


def test_form_literal_parts_are_left_as_written() -> None:
    request = build(payload="path=a%2Fb&x=1+2&text=%MESSAGE%&to=%TO%")
    assert request.body == b"path=a%2Fb&x=1+2&text=hello&to=%2B4712345678"


def test_placeholder_text_inside_a_value_is_not_expanded() -> None:
    request = build(payload="to=%TO%&text=%MESSAGE%", message="call %TO% about %ID%")
    assert form_fields(request)["text"] == ["call %TO% about %ID%"]


def test_placeholder_text_inside_a_raw_header_or_json_value_is_not_expanded() -> None:
    message = "call %TO% about %ID% or %MESSAGE%"
    request = build(headers={"X-Text": "%MESSAGE%"}, message=message)
    assert request.headers["X-Text"] == message
    request = build(content_type="json", payload='{"t":"%MESSAGE%","to":"%TO%"}', message=message)
    assert request.body is not None
    assert json.loads(request.body) == {"t": message, "to": "+4712345678"}


def test_empty_partner() -> None:
    assert form_fields(build(payload="to=%TO%&text=%MESSAGE%&from=%PARTNER%"))["from"] == [""]


def test_to_digits_strips_everything_but_digits() -> None:
    request = build(payload="m=%TO_DIGITS%&t=%MESSAGE%", to="+47 (123) 45-678")
    assert form_fields(request)["m"] == ["4712345678"]


def test_operator_content_type_header_wins() -> None:
    request = build(headers={"content-type": "application/x-www-form-urlencoded"})
    assert request.headers == {"content-type": "application/x-www-form-urlencoded"}


# --------------------------------------------------------------------------------------------
# GET
# --------------------------------------------------------------------------------------------


def test_get_appends_payload_as_query() -> None:
    request = build(method="GET", url="https://gw.example/send", message=NASTY)
    assert request.body is None
    assert "Content-Type" not in request.headers
    parts = urlsplit(request.url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "gw.example", "/send")
    assert parse_qs(parts.query, strict_parsing=True) == {
        "to": ["+4712345678"],
        "text": [NASTY],
    }


def test_get_with_existing_query() -> None:
    request = build(method="GET", url="https://gw.example/send?user=U&pass=P", message="a&b")
    assert request.url == "https://gw.example/send?user=U&pass=P&to=%2B4712345678&text=a%26b"
    assert parse_qs(urlsplit(request.url).query) == {
        "user": ["U"],
        "pass": ["P"],
        "to": ["+4712345678"],
        "text": ["a&b"],
    }


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://gw.example/send?", "https://gw.example/send?to=%2B4712345678&text=hello"),
        ("https://gw.example/send?a=1&", "https://gw.example/send?a=1&to=%2B4712345678&text=hello"),
        (
            "https://gw.example/send#frag",
            "https://gw.example/send?to=%2B4712345678&text=hello#frag",
        ),
    ],
)
def test_get_query_joining(url: str, expected: str) -> None:
    assert build(method="GET", url=url).url == expected


def test_get_with_empty_payload_leaves_url_alone() -> None:
    request = build(method="GET", url="https://gw.example/send/%TO%/%MESSAGE%", payload="")
    assert request.url == "https://gw.example/send/%2B4712345678/hello"


def test_url_placeholders_are_fully_percent_encoded() -> None:
    request = build(
        url="https://gw.example/%TO%/send?text=%MESSAGE%", payload="", message="a/b c&d?e#f"
    )
    assert request.url == "https://gw.example/%2B4712345678/send?text=a%2Fb%20c%26d%3Fe%23f"
    assert parse_qs(urlsplit(request.url).query) == {"text": ["a/b c&d?e#f"]}


# --------------------------------------------------------------------------------------------
# JSON bodies
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    ['say "hi"', "back\\slash", "new\nline\ttab\r", PRIVET, EMOJI, "\u2028\x00\x1f", NASTY],
)
def test_json_values_round_trip(message: str) -> None:
    request = build(
        content_type="json",
        payload='{"to":"%TO%","body":"%MESSAGE%","from":"%PARTNER%","ref":"id-%ID%"}',
        message=message,
        sender='Shop "Q"',
    )
    assert request.headers == {"Content-Type": "application/json"}
    assert request.body is not None
    assert json.loads(request.body) == {
        "to": "+4712345678",
        "body": message,
        "from": 'Shop "Q"',
        "ref": "id-42",
    }


def test_json_keeps_non_ascii_as_utf8() -> None:
    request = build(content_type="json", payload='{"body":"%MESSAGE%"}', message=PRIVET)
    assert request.body == ('{"body":"' + PRIVET + '"}').encode()


def test_json_clickatell_array_template() -> None:
    request = build(
        content_type="json", payload='{"to":["%TO%"],"content":"%MESSAGE%"}', message='x"y'
    )
    assert request.body is not None
    assert json.loads(request.body) == {"to": ["+4712345678"], "content": 'x"y'}


def test_json_placeholder_outside_string_becomes_a_literal() -> None:
    request = build(
        content_type="json",
        payload='{"id": %ID%, "to": %TO%, "text": %MESSAGE%}',
        message='"}, "admin": true, "x": {"',
    )
    assert request.body is not None
    assert json.loads(request.body) == {
        "id": 42,
        "to": "+4712345678",
        "text": '"}, "admin": true, "x": {"',
    }


def test_json_escaped_quote_in_template_does_not_confuse_string_tracking() -> None:
    request = build(content_type="json", payload='{"note":"a \\" b","body":"%MESSAGE%"}')
    assert request.body is not None
    assert json.loads(request.body) == {"note": 'a " b', "body": "hello"}


def test_json_invalid_template_is_refused() -> None:
    with pytest.raises(ValueError, match="not valid after placeholder substitution"):
        build(content_type="json", payload='{"to":"%TO%","body":"%MESSAGE%"')


def test_json_with_get_is_refused() -> None:
    with pytest.raises(ValueError, match="requires POST"):
        build(method="GET", content_type="json", payload='{"to":"%TO%"}')


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "PUT"}, "unknown method"),
        ({"content_type": "xml"}, "unknown content type"),
        ({"url": "ftp://gw.example/"}, "http"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------------


def test_header_placeholders_get_raw_values() -> None:
    request = build(
        headers={"X-To": "%TO%", "X-Ref": "msg-%ID%", "X-Text": "%MESSAGE%"}, message="a&b c"
    )
    assert request.headers["X-To"] == "+4712345678"
    assert request.headers["X-Ref"] == "msg-42"
    assert request.headers["X-Text"] == "a&b c"


@pytest.mark.parametrize("value", ["Basic abc\r\nX-Evil: 1", "abc\n", "abc\r", "a\x00b"])
def test_header_line_breaks_in_template_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="CR, LF"):
        build(headers={"Authorization": value})


def test_header_line_break_from_message_is_refused() -> None:
    with pytest.raises(ValueError, match="CR, LF"):
        build(headers={"X-Text": "%MESSAGE%"}, message="hi\r\nX-Evil: 1")


@pytest.mark.parametrize("name", ["X-Bad\r\nX-Evil", "X:Bad", ""])
def test_bad_header_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="header name"):
        build(headers={name: "v"})


# --------------------------------------------------------------------------------------------
# validate_payload
# --------------------------------------------------------------------------------------------


def test_validate_bulksms_default_is_fine() -> None:
    assert validate_payload("POST", "form", BULKSMS_PAYLOAD, url=BULKSMS_URL) == []


@pytest.mark.parametrize(
    ("method", "content_type", "payload"),
    [
        ("POST", "json", '{"to":"%TO%","body":"%MESSAGE%"}'),
        ("POST", "json", '{"to":["%TO%"],"content":"%MESSAGE%","id":%ID%}'),
        ("GET", "form", "to=%TO%&text=%MESSAGE%"),
        ("POST", "form", "To=%TO%&From=X&Body=%MESSAGE%&x=%AB%CD"),  # %AB% is a percent-escape
    ],
)
def test_validate_accepts_good_payloads(method: str, content_type: str, payload: str) -> None:
    assert validate_payload(method, content_type, payload) == []


def test_validate_reports_unknown_placeholder() -> None:
    problems = validate_payload("POST", "form", "to=%TO%&text=%MESSAGE%&x=%FOO%&y=%FOO%")
    assert len(problems) == 1
    assert "%FOO%" in problems[0]


def test_validate_finds_known_placeholder_after_unknown_one() -> None:
    # A generic %WORD% scan would swallow the "%" opening %TO% and report it missing.
    assert validate_payload("POST", "form", "x=%AB%TO%&text=%MESSAGE%") == []


@pytest.mark.parametrize(
    ("payload", "missing"),
    [
        ("text=%MESSAGE%", "%TO%"),
        ("to=%TO%", "%MESSAGE%"),
        ("to=%TO_DIGITS%", "%MESSAGE%"),
    ],
)
def test_validate_reports_missing_placeholders(payload: str, missing: str) -> None:
    problems = validate_payload("POST", "form", payload)
    assert len(problems) == 1
    assert problems[0].startswith(f"missing {missing}")


def test_validate_counts_url_and_header_placeholders() -> None:
    assert (
        validate_payload(
            "GET", "form", "", url="https://gw.example/%TO%", headers={"X-Text": "%MESSAGE%"}
        )
        == []
    )
    problems = validate_payload("GET", "form", "", url="https://gw.example/%TO%?x=%BAR%")
    assert any("%BAR%" in p and "URL" in p for p in problems)
    assert any("%MESSAGE%" in p for p in problems)


def test_validate_reports_invalid_json_template() -> None:
    problems = validate_payload("POST", "json", '{"to":"%TO%","body":"%MESSAGE%",}')
    assert len(problems) == 1
    assert "not valid JSON" in problems[0]


def test_validate_reports_json_with_get() -> None:
    problems = validate_payload("GET", "json", '{"to":"%TO%","body":"%MESSAGE%"}')
    assert problems == ["JSON content type requires POST (GET has no body)"]


def test_validate_reports_bad_method_content_type_url_and_header() -> None:
    problems = validate_payload(
        "PUT", "xml", "to=%TO%&t=%MESSAGE%", url="file:///etc/passwd", headers={"X": "a\nb"}
    )
    assert len(problems) == 4
    assert any("method" in p for p in problems)
    assert any("content type" in p for p in problems)
    assert any("http" in p for p in problems)
    assert any("line break" in p for p in problems)


# --------------------------------------------------------------------------------------------
# classify_response
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "verdict", "code", "batch_id", "meaning"),
    [
        ("0|IN_PROGRESS|4712345678", "sent", 0, "4712345678", "in progress"),
        ("1|SCHEDULED|555", "sent", 1, "555", "scheduled"),
        ("22|INTERNAL_FATAL_ERROR|", "permanent", 22, None, "internal fatal error"),
        ("23|AUTHENTICATION_FAILURE|", "gateway_paused", 23, None, "authentication failure"),
        ("24|DATA_VALIDATION_FAILED|", "permanent", 24, None, "data validation failed"),
        ("25|INSUFFICIENT_CREDITS|", "gateway_paused", 25, None, "insufficient credits"),
        ("26|UPSTREAM_CREDITS_UNAVAILABLE|", "retry", 26, None, "upstream credits"),
        ("27|DAILY_QUOTA_EXCEEDED|", "gateway_paused", 27, None, "daily quota exceeded"),
        ("28|UPSTREAM_QUOTA_EXCEEDED|", "retry", 28, None, "upstream quota exceeded"),
        ("40|TEMPORARILY_UNAVAILABLE|", "retry", 40, None, "temporarily unavailable"),
        ("201|MAX_BATCH_SIZE_EXCEEDED|", "permanent", 201, None, "maximum batch size"),
        ("99|SOMETHING_NEW|", "permanent", 99, None, "unknown status code"),
    ],
)
def test_bulksms_codes(
    body: str, verdict: str, code: int, batch_id: str | None, meaning: str
) -> None:
    result = classify_response(200, body + "\n", BULKSMS_SUCCESS)
    assert result.verdict == verdict
    assert result.code == code
    assert result.batch_id == batch_id
    assert result.reason.startswith(f"BulkSMS {code}: {meaning}")
    assert result.retry_after is None


def test_bulksms_reason_format() -> None:
    result = classify_response(200, "24|DATA_VALIDATION_FAILED|", BULKSMS_SUCCESS)
    assert result.reason == "BulkSMS 24: data validation failed (DATA_VALIDATION_FAILED)"


def test_bulksms_batch_id_only_on_success() -> None:
    result = classify_response(200, "24|DATA_VALIDATION_FAILED|4712345678", BULKSMS_SUCCESS)
    assert (result.verdict, result.batch_id) == ("permanent", None)


def test_bulksms_code_decides_even_when_success_text_is_empty() -> None:
    result = classify_response(200, "24|DATA_VALIDATION_FAILED|", "")
    assert result.verdict == "permanent"


def test_bulksms_code_zero_is_sent_even_when_success_text_differs() -> None:
    result = classify_response(200, "0|IN_PROGRESS|123", "SUCCESS")
    assert (result.verdict, result.batch_id) == ("sent", "123")


def test_bulksms_whitespace_is_stripped() -> None:
    result = classify_response(200, "  \r\n0|IN_PROGRESS|4712345678 \r\n", BULKSMS_SUCCESS)
    assert result == Classification(
        "sent", "BulkSMS 0: in progress (IN_PROGRESS)", 0, "4712345678", None
    )


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2024, 5, 1, 23, 0, tzinfo=UTC), 3600.0),
        (datetime(2024, 5, 1, 0, 0, tzinfo=UTC), 86400.0),
        (datetime(2024, 12, 31, 23, 59, 30, tzinfo=UTC), 30.0),
        # 01:00 at UTC+2 is 23:00 UTC the previous day.
        (datetime(2024, 5, 2, 1, 0, tzinfo=timezone(timedelta(hours=2))), 3600.0),
        (datetime(2024, 5, 1, 22, 30), 5400.0),  # naive is taken as UTC
    ],
)
def test_daily_quota_retry_after_until_utc_midnight(now: datetime, expected: float) -> None:
    result = classify_response(200, "27|DAILY_QUOTA_EXCEEDED|", BULKSMS_SUCCESS, now=now)
    assert result.verdict == "gateway_paused"
    assert result.retry_after == expected


def test_now_only_affects_the_daily_quota() -> None:
    now = datetime(2024, 5, 1, 23, 0, tzinfo=UTC)
    assert classify_response(200, "40|TEMPORARILY_UNAVAILABLE|", "", now=now).retry_after is None


@pytest.mark.parametrize(
    "body",
    ["0|IN_PROGRESS", "0|IN_PROGRESS|123|extra", "0|", "24|DATA_VALIDATION_FAILED"],
)
def test_malformed_bulksms_answer_is_a_protocol_error(body: str) -> None:
    for success_text in (BULKSMS_SUCCESS, "IN_PROGRESS", ""):
        result = classify_response(200, body, success_text)
        assert result.verdict == "permanent"
        assert result.reason.startswith("protocol error: ")
        assert result.code is None


def test_success_text_substring() -> None:
    body = '{"messages":[{"apiMessageId":"abc","accepted":true,"to":"4712345678"}]}'
    result = classify_response(202, body, '"accepted":true')
    assert result == Classification("sent", "HTTP 202: success", None, None)


def test_success_text_with_pipe_in_a_non_bulksms_body() -> None:
    result = classify_response(200, '{"status":"SUCCESS","note":"a|b|c|d"}', "SUCCESS")
    assert result.verdict == "sent"


def test_empty_success_text_accepts_any_2xx() -> None:
    assert classify_response(201, '{"id":"1"}', "").verdict == "sent"
    assert classify_response(204, "", "").verdict == "sent"


def test_2xx_without_success_text_is_permanent_and_quotes_truncated_body() -> None:
    body = '{"error":"invalid number"}' + "x" * 500
    result = classify_response(200, body, '"accepted":true')
    assert result.verdict == "permanent"
    assert result.code is None
    assert '{"error":"invalid number"}' in result.reason
    assert len(result.reason) < 300
    assert result.reason.endswith("x" * 10 + "...")


@pytest.mark.parametrize("status", [199, 300, 302, 408, 429, 500, 502, 503, 504])
def test_non_2xx_is_retried(status: int) -> None:
    result = classify_response(status, "Service Unavailable", BULKSMS_SUCCESS)
    assert result.verdict == "retry"
    assert result.reason.startswith(f"HTTP {status}")
    assert "Service Unavailable" in result.reason


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (400, "permanent"),
        (401, "gateway_paused"),
        (403, "gateway_paused"),
        (404, "gateway_paused"),
        (405, "gateway_paused"),
        (413, "permanent"),
        (422, "permanent"),
    ],
)
def test_hopeless_statuses(status: int, verdict: str) -> None:
    assert classify_response(status, "", BULKSMS_SUCCESS).verdict == verdict


def test_status_beats_a_success_looking_body() -> None:
    assert classify_response(503, "0|IN_PROGRESS|1", BULKSMS_SUCCESS).verdict == "retry"
    assert classify_response(500, "SUCCESS", "SUCCESS").verdict == "retry"


# --------------------------------------------------------------------------------------------
# classify_exception
# --------------------------------------------------------------------------------------------


# Stand-ins shaped like aiohttp's hierarchy, so the class-name rule is tested without aiohttp.
class ClientError(Exception):
    pass


class ClientConnectionError(ClientError):
    pass


class ClientOSError(ClientConnectionError, OSError):
    pass


class ClientConnectorError(ClientOSError):
    pass


class ClientConnectorDNSError(ClientConnectorError):
    pass


class ServerConnectionError(ClientConnectionError):
    pass


class ServerDisconnectedError(ServerConnectionError):
    pass


class ServerTimeoutError(ServerConnectionError, TimeoutError):
    pass


class ConnectionTimeoutError(ServerTimeoutError):
    pass


class ClientPayloadError(ClientError):
    pass


class WrappedPayloadError(ClientPayloadError):
    pass


class ClientResponseError(ClientError):
    pass


@pytest.mark.parametrize(
    ("exc", "prefix"),
    [
        (TimeoutError(), "unknown outcome: TimeoutError"),
        (ServerTimeoutError("read"), "unknown outcome: ServerTimeoutError: read"),
        (ServerDisconnectedError(), "unknown outcome: ServerDisconnectedError"),
        (ClientPayloadError("bad"), "unknown outcome: ClientPayloadError: bad"),
        (WrappedPayloadError(), "unknown outcome: WrappedPayloadError"),
        (ClientOSError(104, "reset"), "unknown outcome: ClientOSError"),
        (ConnectionResetError(), "unknown outcome: ConnectionResetError"),
        (BrokenPipeError(), "unknown outcome: BrokenPipeError"),
        (ClientConnectorError("no route"), "connection failed: ClientConnectorError: no route"),
        (ClientConnectorDNSError(), "connection failed: ClientConnectorDNSError"),
        (ConnectionTimeoutError(), "connection failed: ConnectionTimeoutError"),
        (ConnectionRefusedError(), "connection failed: ConnectionRefusedError"),
        (ServerConnectionError(), "connection failed: ServerConnectionError"),
        (ClientConnectionError(), "connection failed: ClientConnectionError"),
        (OSError("dns"), "connection failed: OSError: dns"),
        (ClientResponseError("odd"), "unexpected: ClientResponseError: odd"),
        (ValueError("boom"), "unexpected: ValueError: boom"),
        (KeyError("k"), "unexpected: KeyError"),
    ],
)
def test_exceptions_are_retried(exc: BaseException, prefix: str) -> None:
    result = classify_exception(exc)
    assert result.verdict == "retry"
    assert result.reason.startswith(prefix)
    assert (result.code, result.batch_id, result.retry_after) == (None, None, None)


def test_unknown_outcome_reason_is_exactly_the_name_without_message() -> None:
    assert classify_exception(TimeoutError()).reason == "unknown outcome: TimeoutError"


# --------------------------------------------------------------------------------------------
# secret_values and redact
# --------------------------------------------------------------------------------------------


def test_secret_values_bulksms_default_payload() -> None:
    assert secret_values(BULKSMS_PAYLOAD, {}) == ["P"]


def test_redact_bulksms_request() -> None:
    request = build(url=BULKSMS_URL, payload=BULKSMS_PAYLOAD, message="hello world")
    assert request.body is not None
    redacted = redact(request.body.decode(), secret_values(BULKSMS_PAYLOAD, {}))
    assert redacted == (
        "username=U&password=***&message=hello+world&msisdn=4712345678"
        "&concat_text_sms_max_parts=4&stop_dup_id=42"
    )


def test_secret_values_basic_auth_header() -> None:
    token = base64.b64encode(b"user:s3cr3t").decode()
    header = f"Basic {token}"
    found = secret_values('{"to":"%TO%","body":"%MESSAGE%"}', {"Authorization": header})
    assert header in found
    assert token in found
    assert "s3cr3t" in found
    assert "user" not in found
    log = f"sent with Authorization: {header}; user typed s3cr3t"
    assert redact(log, found) == "sent with Authorization: ***; user typed ***"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Api-Key": "K1"}, ["K1"]),
        ({"Authorization": "Bearer T1"}, ["Bearer T1", "T1"]),
        ({"X-Auth-Token": "T2", "Accept": "application/json"}, ["T2"]),
        ({"x-client-secret": "S1", "X-Ref": "%ID%"}, ["S1"]),
        ({"Authorization": "Basic !!notbase64"}, ["Basic !!notbase64", "!!notbase64"]),
    ],
)
def test_secret_values_headers(headers: dict[str, str], expected: list[str]) -> None:
    assert secret_values("to=%TO%&text=%MESSAGE%", headers) == expected


def test_secret_values_form_keys() -> None:
    payload = (
        "user=U&Password=p1&pass=p2&pwd=p3&client_secret=p4&Token=p5&api_key=p6&apikey=p7"
        "&key=p8&auth=p9&text=%MESSAGE%&to=%TO%&empty_token=&sig_key=%ID%"
    )
    assert secret_values(payload, {}) == [f"p{i}" for i in range(1, 10)]


def test_secret_values_percent_encoded_literal() -> None:
    assert secret_values("password=p%40ss+w&to=%TO%", {}) == ["p%40ss+w", "p@ss w"]


def test_secret_values_json_fields() -> None:
    payload = (
        '{"to":"%TO%","apiKey":"K1","auth":{"Token":"T\\"1"},"text":"%MESSAGE%",'
        '"password":"%PARTNER%"}'
    )
    assert secret_values(payload, {}) == ["K1", 'T\\"1', 'T"1']


def test_secret_values_url_query() -> None:
    found = secret_values("", {}, url="https://gw.example/send?user=U&pass=P2#x")
    assert found == ["P2"]


def test_redact_encoded_forms() -> None:
    secret = 'p@ss w&rd"\\' + PRIVET
    text = " | ".join(
        [
            secret,
            quote_plus(secret),
            quote(secret, safe=""),
            json.dumps(secret, ensure_ascii=False)[1:-1],
            json.dumps(secret)[1:-1],
        ]
    )
    assert redact(text, [secret]) == " | ".join(["***"] * 5)


def test_redact_prefers_the_longest_secret() -> None:
    assert redact("abcdef and abc", ["abc", "abcdef"]) == "*** and ***"


def test_redact_ignores_empty_secrets() -> None:
    assert redact("nothing to hide", ["", ""]) == "nothing to hide"
    assert redact("nothing to hide", []) == "nothing to hide"


def test_redacted_json_request_has_no_secret() -> None:
    payload = '{"to":"%TO%","body":"%MESSAGE%","api_key":"k&y \\"x\\""}'
    request = build(content_type="json", payload=payload)
    assert request.body is not None
    redacted = redact(request.body.decode(), secret_values(payload, {}))
    assert json.loads(redacted)["api_key"] == "***"
