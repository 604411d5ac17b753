"""The HTTP request to a generic SMS gateway, built from its settings. Pure logic, no I/O.

A generic HTTP SMS gateway (``../shared/docs/domain.md`` section 2) is configured by a
URL, a method, a content type, a payload template, custom headers and a "successful response"
text. :func:`build_request` turns that configuration plus one message into an
:class:`HttpRequest`; :func:`validate_payload` says what is wrong with a configuration before
it is saved. Placeholders: ``%TO%`` (E.164 as given), ``%TO_DIGITS%`` (digits only, BulkSMS
``msisdn``), ``%MESSAGE%``, ``%ID%`` (stable numeric message id, e.g. BulkSMS ``stop_dup_id``)
and ``%PARTNER%`` (sender name, may be empty).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, quote_plus

__all__ = [
    "FORM_CONTENT_TYPE",
    "KNOWN_PLACEHOLDER",
    "PLACEHOLDERS",
    "ContentType",
    "HttpRequest",
    "Method",
    "build_request",
    "validate_payload",
]

Method = Literal["GET", "POST"]
ContentType = Literal["form", "json"]

PLACEHOLDERS: tuple[str, ...] = ("TO", "TO_DIGITS", "MESSAGE", "ID", "PARTNER")

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"

# Only known names are substituted. Matching the known names (rather than any %WORD%) matters
# for text such as "%AB%TO%": a generic pattern would swallow the "%" that opens "%TO%".
KNOWN_PLACEHOLDER = re.compile(r"%(TO_DIGITS|TO|MESSAGE|ID|PARTNER)%")
_ANY_PLACEHOLDER = re.compile(r"%([A-Z_]+)%")
# "%AB%" in "%AB%CD" is a percent-escaped byte, not a placeholder the operator mistyped.
_PERCENT_ESCAPE = re.compile(r"[A-F]{2}")
_HEADER_FORBIDDEN = ("\r", "\n", "\0")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: Method
    url: str
    headers: dict[str, str]
    body: bytes | None  # None for GET


def _values(to: str, message: str, message_id: int, sender: str) -> dict[str, str]:
    return {
        "TO": to,
        "TO_DIGITS": re.sub(r"\D", "", to),
        "MESSAGE": message,
        "ID": str(message_id),
        "PARTNER": sender,
    }


def _render_encoded(template: str, values: Mapping[str, str], *, form: bool) -> str:
    # A single regex pass: a message that itself contains "%TO%" is data, never re-expanded.
    def encode(m: re.Match[str]) -> str:
        value = values[m[1]]
        return quote_plus(value) if form else quote(value, safe="")

    return KNOWN_PLACEHOLDER.sub(encode, template)


def _render_raw(template: str, values: Mapping[str, str]) -> str:
    return KNOWN_PLACEHOLDER.sub(lambda m: values[m[1]], template)


def _render_json(template: str, values: Mapping[str, str]) -> str:
    # Walk the template tracking whether we are inside a JSON string, so each placeholder gets
    # the escaping its position needs. Outside a string the value becomes a complete JSON literal
    # (a quoted string, or a bare number for %ID%) so a value can never inject JSON syntax.
    out: list[str] = []
    in_string = False
    i = 0
    n = len(template)
    while i < n:
        m = KNOWN_PLACEHOLDER.match(template, i)
        if m is not None:
            value = values[m[1]]
            if in_string:
                out.append(json.dumps(value, ensure_ascii=False)[1:-1])
            elif m[1] == "ID":
                out.append(value)
            else:
                out.append(json.dumps(value, ensure_ascii=False))
            i = m.end()
            continue
        c = template[i]
        if in_string and c == "\\":
            out.append(template[i : i + 2])
            i += 2
            continue
        if c == '"':
            in_string = not in_string
        out.append(c)
        i += 1
    return "".join(out)


def _check_json(text: str) -> str | None:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return None


def _check_header(name: str, value: str) -> None:
    if not name or any(c in name for c in (*_HEADER_FORBIDDEN, ":")):
        raise ValueError(f"invalid header name {name!r}")
    if any(c in value for c in _HEADER_FORBIDDEN):
        # Header injection: a CR/LF would let a value (possibly the message text) add headers.
        raise ValueError(f"header {name!r}: value must not contain CR, LF or NUL")


def _append_query(url: str, query: str) -> str:
    query = query.lstrip("?&")
    if not query:
        return url
    base, hash_sign, fragment = url.partition("#")
    if "?" not in base:
        joiner = "?"
    elif base.endswith(("?", "&")):
        joiner = ""
    else:
        joiner = "&"
    return f"{base}{joiner}{query}{hash_sign}{fragment}"


def build_request(
    *,
    method: Method,
    url: str,
    content_type: ContentType,
    payload: str,
    headers: Mapping[str, str],
    to: str,
    message: str,
    message_id: int,
    sender: str = "",
) -> HttpRequest:
    """Build the HTTP request that submits one message to a gateway.

    Placeholders are substituted in ``payload``, ``url`` and header values, escaped for where they
    land: ``quote_plus`` in form bodies and GET query strings, JSON string escaping in JSON bodies
    (a placeholder outside a JSON string becomes a quoted string, ``%ID%`` a bare number),
    ``quote(safe="")`` in the URL, raw in headers. Literal template text is kept as written.
    For GET the rendered payload is appended to the URL as its query string.

    An operator-supplied ``Content-Type`` header wins over the default for the content type.

    Raises:
        ValueError: unknown method or content type, JSON with GET, a non-http(s) URL, a JSON
            payload that does not parse after substitution, or a header name/value containing
            CR, LF or NUL (also when the line break comes from a substituted value).
    """
    if method not in ("GET", "POST"):
        raise ValueError(f"unknown method {method!r}, expected GET or POST")
    if content_type not in ("form", "json"):
        raise ValueError(f"unknown content type {content_type!r}, expected form or json")
    if content_type == "json" and method == "GET":
        raise ValueError("JSON content type requires POST (GET has no body)")
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError("gateway URL must start with http:// or https://")

    values = _values(to, message, message_id, sender)
    rendered_url = _render_encoded(url, values, form=False)

    out_headers: dict[str, str] = {}
    for name, template in headers.items():
        _check_header(name, template)
        value = _render_raw(template, values)
        _check_header(name, value)
        out_headers[name] = value

    if method == "GET":
        query = _render_encoded(payload, values, form=True)
        return HttpRequest("GET", _append_query(rendered_url, query), out_headers, None)

    if content_type == "json":
        body_text = _render_json(payload, values)
        problem = _check_json(body_text)
        if problem is not None:
            raise ValueError(f"JSON payload is not valid after placeholder substitution: {problem}")
        default_type = JSON_CONTENT_TYPE
    else:
        body_text = _render_encoded(payload, values, form=True)
        default_type = FORM_CONTENT_TYPE
    if not any(name.lower() == "content-type" for name in out_headers):
        out_headers["Content-Type"] = default_type
    return HttpRequest("POST", rendered_url, out_headers, body_text.encode("utf-8"))


def _unknown_placeholders(text: str) -> list[str]:
    found: list[str] = []
    # Look for unknown names only between known placeholders (see _KNOWN for why).
    for segment in KNOWN_PLACEHOLDER.split(text)[::2]:
        for m in _ANY_PLACEHOLDER.finditer(segment):
            if not _PERCENT_ESCAPE.fullmatch(m[1]):
                found.append(m[0])
    return found


def validate_payload(
    method: str,
    content_type: str,
    payload: str,
    *,
    url: str = "",
    headers: Mapping[str, str] | None = None,
) -> list[str]:
    """Return human-readable problems with a gateway configuration; empty means fine.

    ``method`` and ``content_type`` are plain strings because this checks operator input.
    Pass ``url`` and ``headers`` when known: placeholders there count for the %TO%/%MESSAGE%
    requirement and unknown placeholders there are reported too.
    """
    problems: list[str] = []
    headers = headers or {}
    if method not in ("GET", "POST"):
        problems.append(f"unknown method {method!r}, expected GET or POST")
    if content_type not in ("form", "json"):
        problems.append(f"unknown content type {content_type!r}, expected form or json")
    if content_type == "json" and method == "GET":
        problems.append("JSON content type requires POST (GET has no body)")
    if url and not url.lower().startswith(("http://", "https://")):
        problems.append("gateway URL must start with http:// or https://")

    texts = [("payload", payload), ("URL", url)]
    texts += [(f"header {name}", value) for name, value in headers.items()]
    for where, text in texts:
        for unknown in dict.fromkeys(_unknown_placeholders(text)):
            problems.append(
                f"unknown placeholder {unknown} in {where} (known: "
                + ", ".join(f"%{p}%" for p in PLACEHOLDERS)
                + ")"
            )
    for name, value in headers.items():
        if any(c in name + value for c in _HEADER_FORBIDDEN):
            problems.append(f"header {name!r} contains a line break or NUL")

    used = {m[1] for _, text in texts for m in KNOWN_PLACEHOLDER.finditer(text)}
    if not used & {"TO", "TO_DIGITS"}:
        problems.append("missing %TO% (or %TO_DIGITS%): the recipient number is never sent")
    if "MESSAGE" not in used:
        problems.append("missing %MESSAGE%: the message text is never sent")

    if content_type == "json":
        # Sample values with quotes, backslashes and line breaks exercise the escaping.
        sample = _values("+4712345678", 'Sample "text"\\ with\nbreaks', 123, "Partner")
        problem = _check_json(_render_json(payload, sample))
        if problem is not None:
            problems.append(f"payload is not valid JSON after placeholder substitution: {problem}")
    return problems
