"""Decoding of EAPI form parameters, batch CSV and JSON API bodies into submissions."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Mapping
from urllib.parse import unquote_to_bytes

from sandbox.state import Submission

MAX_BATCH_ROWS = 30_000
_MSISDN = re.compile(r"\+?[0-9]{3,17}")


class InvalidSubmission(Exception):
    """The submission cannot be accepted; carries the EAPI code and description."""

    def __init__(self, description: str, code: int = 24) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def decode_text(raw: bytes, charset: str | None = None) -> str:
    """Decode bytes as the declared charset or UTF-8, falling back to ISO-8859-1."""
    candidates = [charset] if charset else []
    candidates.append("utf-8")
    for name in candidates:
        try:
            return raw.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    return raw.decode("iso-8859-1")


def parse_form(raw: bytes, charset: str | None = None) -> dict[str, str]:
    """Parse an application/x-www-form-urlencoded body; each value is decoded on its own.

    Percent-decoding is done on bytes so a UTF-8 or an ISO-8859-1 client both work.
    """
    if charset and _codec_name(charset) == "utf-8":
        charset = None
    params: dict[str, str] = {}
    for part in raw.split(b"&"):
        if not part:
            continue
        key, _, value = part.partition(b"=")
        name = decode_text(unquote_to_bytes(key.replace(b"+", b" ")), charset)
        params[name] = decode_text(unquote_to_bytes(value.replace(b"+", b" ")), charset)
    return params


def _codec_name(charset: str) -> str:
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return charset


def query_bytes(raw_query: str) -> bytes:
    """Return a raw (still percent-encoded) query string as bytes for parse_form."""
    try:
        return raw_query.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return raw_query.encode("utf-8", "surrogatepass")


def eapi_submission(params: Mapping[str, str], endpoint: str) -> Submission:
    """Build a send_sms or send_batch submission from its form parameters."""
    sub = Submission(
        endpoint=endpoint,
        username=params.get("username"),
        password=params.get("password"),
        always_fail=params.get("test_always_fail", "").strip() == "1",
        always_succeed=params.get("test_always_succeed", "").strip() == "1",
    )
    try:
        sub.stop_dup_id = _stop_dup_id(params.get("stop_dup_id", ""))
        dca = (params.get("dca") or "7bit").strip().lower()
        if dca not in ("7bit", "8bit", "16bit"):
            raise InvalidSubmission(f"invalid dca {dca!r}")
        if endpoint == "send_batch":
            sub.items = _batch_items(params.get("batch_data", ""), dca)
        else:
            message = _message(params.get("message", ""), dca)
            sub.items = [(msisdn, message) for msisdn in _msisdns(params.get("msisdn", ""))]
    except InvalidSubmission as exc:
        sub.invalid = (exc.code, exc.description)
    return sub


def json_submission(raw: bytes, username: str | None, password: str | None) -> Submission:
    """Build a submission from a BulkSMS JSON API body (one message object or a list)."""
    sub = Submission(endpoint="json", username=username, password=password)
    try:
        sub.items = _json_items(raw)
    except InvalidSubmission as exc:
        sub.invalid = (exc.code, exc.description)
    return sub


def _stop_dup_id(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit():
        raise InvalidSubmission("invalid stop_dup_id")
    return int(value)


def _message(text: str, dca: str) -> str:
    if not text:
        raise InvalidSubmission("message is missing")
    if dca != "16bit":
        return text
    try:
        return bytes.fromhex(text).decode("utf-16-be")
    except ValueError as exc:
        raise InvalidSubmission("invalid 16bit message (expected UTF-16BE hex)") from exc


def _msisdn(value: str) -> str:
    value = value.strip()
    if not _MSISDN.fullmatch(value):
        raise InvalidSubmission("invalid msisdn")
    return value


def _msisdns(value: str) -> list[str]:
    if not value.strip():
        raise InvalidSubmission("invalid msisdn")
    return [_msisdn(part) for part in value.split(",")]


def _batch_items(batch_data: str, dca: str) -> list[tuple[str, str]]:
    try:
        rows = [row for row in csv.reader(io.StringIO(batch_data, newline="")) if row]
    except csv.Error as exc:
        raise InvalidSubmission(f"invalid batch_data: {exc}") from exc
    if not rows:
        raise InvalidSubmission("batch_data is empty")
    header = [name.strip().lower() for name in rows[0]]
    if "msisdn" not in header or "message" not in header:
        raise InvalidSubmission("batch_data header must name msisdn and message")
    if len(rows) - 1 > MAX_BATCH_ROWS:
        raise InvalidSubmission(f"maximum batch size exceeded ({MAX_BATCH_ROWS} rows)", code=201)
    at_msisdn, at_message = header.index("msisdn"), header.index("message")
    needed = max(at_msisdn, at_message) + 1
    items: list[tuple[str, str]] = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) < needed:
            raise InvalidSubmission(f"invalid batch_data row {number}")
        items.append((_msisdn(row[at_msisdn]), _message(row[at_message], dca)))
    if not items:
        raise InvalidSubmission("batch_data has no rows")
    return items


def _json_items(raw: bytes) -> list[tuple[str, str]]:
    try:
        payload = json.loads(decode_text(raw))
    except ValueError as exc:
        raise InvalidSubmission("body is not valid JSON") from exc
    entries = payload if isinstance(payload, list) else [payload]
    if not entries:
        raise InvalidSubmission("no messages in body")
    items: list[tuple[str, str]] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise InvalidSubmission("each message must be a JSON object")
        to, body = entry.get("to"), entry.get("body")
        if not isinstance(body, str) or not body:
            raise InvalidSubmission("'body' must be a non-empty string")
        recipients: list[object] = to if isinstance(to, list) else [to]
        if not recipients:
            raise InvalidSubmission("'to' must be a string or a list of strings")
        for recipient in recipients:
            if not isinstance(recipient, str):
                raise InvalidSubmission("'to' must be a string or a list of strings")
            items.append((_msisdn(recipient), body))
    return items
