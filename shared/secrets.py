"""Credentials in gateway settings: find them, and keep them out of answers and logs."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

from shared.sms_request import KNOWN_PLACEHOLDER

MASK = "***"

_SECRET_KEY_WORDS = ("pass", "pwd", "secret", "token", "api_key", "apikey", "key", "auth")
_SECRET_HEADER_WORDS = ("auth", "token", "secret", "key")  # "auth" covers Authorization
_JSON_STRING_FIELD = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_KEY_WORDS)


def _json_unescape(text: str) -> str:
    try:
        value = json.loads(f'"{text}"')
    except json.JSONDecodeError:
        return text
    return value if isinstance(value, str) else text


def _usable(value: str) -> bool:
    # A value that is only a placeholder is message data, not a credential.
    return bool(value) and not KNOWN_PLACEHOLDER.fullmatch(value)


def _form_secrets(text: str) -> list[str]:
    found: list[str] = []
    for pair in text.split("&"):
        key, eq, value = pair.partition("=")
        if eq and _is_secret_key(unquote_plus(key)) and _usable(value):
            # The literal is what goes on the wire; the decoded form is what a log may show.
            found += [value, unquote_plus(value)]
    return found


def secret_values(payload: str, headers: Mapping[str, str], *, url: str = "") -> list[str]:
    """Extract credential values from a gateway configuration, for :func:`redact`.

    Collects values of payload keys whose name contains pass/pwd/secret/token/api_key/apikey/
    key/auth (form ``k=v`` pairs, or JSON string fields when the payload starts with ``{`` or
    ``[``), of such query parameters in ``url``, and of headers named Authorization or containing
    token/secret/key/auth. For ``<scheme> <credentials>`` header values the credentials part is
    added too, and for Basic auth its decoded ``user:password`` and the password.
    """
    found: list[str] = []
    if payload.lstrip().startswith(("{", "[")):
        for m in _JSON_STRING_FIELD.finditer(payload):
            if _is_secret_key(_json_unescape(m[1])) and _usable(m[2]):
                found += [m[2], _json_unescape(m[2])]
    else:
        found += _form_secrets(payload)
    if "?" in url:
        found += _form_secrets(url.partition("?")[2].partition("#")[0])

    for name, value in headers.items():
        lowered = name.lower()
        if not any(word in lowered for word in _SECRET_HEADER_WORDS) or not _usable(value):
            continue
        found.append(value)
        scheme, _, credentials = value.strip().partition(" ")
        credentials = credentials.strip()
        if not credentials:
            continue
        found.append(credentials)
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                continue
            found += [decoded, decoded.partition(":")[2]]
    return [value for value in dict.fromkeys(found) if value]


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every non-empty secret in ``text`` with ``***``.

    Also replaces the forms a secret takes on the wire: percent-encoded (``quote_plus`` and
    ``quote``) and JSON-escaped (with and without ``ensure_ascii``).
    """
    pattern = _pattern(tuple(secrets))
    return pattern.sub("***", text) if pattern is not None else text


# A sender redacts every request and answer with the same few secrets: compile once.
@functools.lru_cache(maxsize=64)
def _pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    variants: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        variants.update(
            (
                secret,
                quote_plus(secret),
                quote(secret, safe=""),
                json.dumps(secret, ensure_ascii=False)[1:-1],
                json.dumps(secret)[1:-1],
            )
        )
    variants.discard("")
    if not variants:
        return None
    # Longest first so a secret that contains another is replaced whole, not partially.
    return re.compile("|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True)))


def _mask_payload(payload: str, headers: dict[str, str], url: str) -> dict[str, Any]:
    found = secret_values(payload, headers, url=url)
    return {
        "payload": redact(payload, found),
        "url": redact(url, found),
        "headers": {name: redact(value, found) for name, value in headers.items()},
    }


def masked(config: dict[str, Any]) -> dict[str, Any]:
    """A gateway configuration with every credential replaced by ``***``."""
    result = dict(config)
    result.update(
        _mask_payload(
            str(config.get("payload", "")), dict(config.get("headers") or {}), str(config["url"])
        )
    )
    if result.get("callback_secret"):
        result["callback_secret"] = MASK
    return result


def unmask(new: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """Keep the stored credentials where the client sent back their masked form unchanged."""
    shown = masked(stored)
    merged = dict(new)
    for key in ("payload", "url", "callback_secret"):
        if merged.get(key) == shown.get(key):
            merged[key] = stored.get(key)
    headers = merged.get("headers")
    if isinstance(headers, dict):
        old_headers = stored.get("headers") or {}
        merged["headers"] = {
            name: old_headers[name]
            if name in old_headers and value == shown["headers"].get(name)
            else value
            for name, value in headers.items()
        }
    return merged
