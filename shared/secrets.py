"""Credentials in gateway settings: find them, and keep them out of answers and logs.

Deny by default: every literal of the SMS payload, of the header values and of the URL
(userinfo, query values, key-like path segments) is a secret, unless its parameter is a known
harmless one (:data:`HARMLESS_PARAMETERS`, :data:`HARMLESS_HEADERS`) or it is a placeholder
(``%MESSAGE%``, ``%TO%``, ...). Only the parts around placeholders count (``ref=isp-%ID%`` hides
``isp-``).

A literal shorter than :data:`MIN_SECRET_LENGTH` counts only under a credential-like name
(``pwd``, ``token``, ``Authorization``, URL userinfo, ...): secrets are hunted for by substring in
free text (gateway answers), and hiding every ``0`` or ``1`` would erase numbers and statuses
from every answer, for values no one could call a credential.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit, urlunsplit

from shared.sms_request import KNOWN_PLACEHOLDER

MASK = "***"
MIN_SECRET_LENGTH = 4

# Parameters (form keys, query keys, JSON keys; compared without case, "_" or "-") whose values
# are not credentials: message options, and sender names, which every recipient sees on the
# message anyway.
HARMLESS_PARAMETERS = frozenset(
    re.sub(r"[^a-z0-9]", "", name)
    for name in (
        "concat_text_sms_max_parts", "allow_concat_text_sms", "dca", "routing_group",
        "repliable", "want_report", "msg_class", "encoding", "charset", "coding", "unicode",
        "type", "format", "flash", "priority", "validity", "dlr", "from", "sender", "sender_id",
        "originator",
    )
)  # fmt: skip
HARMLESS_HEADERS = frozenset(
    (
        "accept", "accept-charset", "accept-encoding", "accept-language", "cache-control",
        "connection", "content-type", "user-agent",
    )
)  # fmt: skip

_SECRET_KEY_WORDS = ("pass", "pwd", "secret", "token", "api_key", "apikey", "key", "auth")
# A path segment is a key (``/v1/AC0123.../``, ``/bot123:AAH.../``) when it is long and mixes
# letters and digits, or is very long.
_KEY_LIKE_SEGMENT = re.compile(r"(?=.*[A-Za-z])(?=.*\d).{12,}|.{32,}")
# JSON strings (a key when a colon follows) and numbers outside strings, left to right.
_JSON_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)')


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_KEY_WORDS)


def _harmless(key: str) -> bool:
    return re.sub(r"[^a-z0-9]", "", key.lower()) in HARMLESS_PARAMETERS


def _literals(value: str, *, credential: bool) -> list[str]:
    # The parts of a value around its placeholders; a placeholder is message data.
    least = 1 if credential else MIN_SECRET_LENGTH
    return [part for part in KNOWN_PLACEHOLDER.split(value)[::2] if len(part.strip()) >= least]


def _json_unescape(text: str) -> str:
    try:
        value = json.loads(f'"{text}"')
    except json.JSONDecodeError:
        return text
    return value if isinstance(value, str) else text


def _form_secrets(text: str) -> Iterator[str]:
    for pair in text.split("&"):
        key, eq, value = pair.partition("=")
        if not eq:
            key, value = "", pair
        if _harmless(unquote_plus(key)):
            continue
        # The literal is what goes on the wire; the decoded form is what a log may show.
        for part in _literals(value, credential=_is_secret_key(unquote_plus(key))):
            yield from (part, unquote_plus(part))


def _json_secrets(payload: str) -> Iterator[str]:
    key = ""
    for m in _JSON_TOKEN.finditer(payload):
        if m[2]:
            key = _json_unescape(m[1])
            continue
        raw = m[1] if m[3] is None else m[3]
        if _harmless(key):
            continue
        for part in _literals(raw, credential=_is_secret_key(key)):
            yield from (part, _json_unescape(part))


def _url_secrets(url: str) -> Iterator[str]:
    parts = urlsplit(url)
    for name in (parts.username, parts.password):
        if name:
            yield from (name, unquote(name))
    for segment in parts.path.split("/"):
        if _KEY_LIKE_SEGMENT.fullmatch(segment):
            for part in _literals(segment, credential=True):
                yield from (part, unquote(part))
    if parts.query:
        yield from _form_secrets(parts.query)


def _header_secrets(name: str, value: str) -> Iterator[str]:
    if name.lower() in HARMLESS_HEADERS:
        return
    credential = _is_secret_key(name)
    yield from _literals(value, credential=credential)
    scheme, _, credentials = value.strip().partition(" ")
    credentials = credentials.strip()
    if not credentials:
        return
    yield from _literals(credentials, credential=credential)
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return
        yield from (decoded, decoded.partition(":")[2])


def secret_values(payload: str, headers: Mapping[str, str], *, url: str = "") -> list[str]:
    """Every secret literal of a gateway configuration (see the module), for :func:`redact`.

    Form ``k=v`` pairs (or JSON strings and numbers when the payload starts with ``{`` or
    ``[``), URL userinfo, key-like path segments and query values, and header values; for
    ``<scheme> <credentials>`` header values the credentials part too, and for Basic auth its
    decoded ``user:password`` and the password.
    """
    found: list[str] = []
    if payload.lstrip().startswith(("{", "[")):
        found += _json_secrets(payload)
    else:
        found += _form_secrets(payload)
    found += _url_secrets(url)
    for name, value in headers.items():
        found += _header_secrets(name, value)
    return [value for value in dict.fromkeys(found) if value]


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every non-empty secret in ``text`` with ``***`` (one shorter than
    :data:`MIN_SECRET_LENGTH` only where no letter or digit touches it).

    Also replaces the forms a secret takes on the wire: percent-encoded (``quote_plus`` and
    ``quote``) and JSON-escaped (with and without ``ensure_ascii``).
    """
    pattern = _pattern(tuple(secrets))
    return pattern.sub(MASK, text) if pattern is not None else text


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
    return re.compile("|".join(_alternative(v) for v in sorted(variants, key=len, reverse=True)))


def _alternative(variant: str) -> str:
    # A short secret (``pwd=abc``) only where it stands alone: not the "p" of every "eapi".
    if len(variant) >= MIN_SECRET_LENGTH:
        return re.escape(variant)
    return rf"(?<![A-Za-z0-9]){re.escape(variant)}(?![A-Za-z0-9])"


def _masked_url(url: str, found: list[str]) -> str:
    # The host stays readable (it is where the secrets go); the userinfo goes whole.
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    if "@" in parts.netloc:
        netloc = f"{MASK}:{MASK}@{netloc}" if parts.password is not None else f"{MASK}@{netloc}"
    return urlunsplit(
        (parts.scheme, netloc, redact(parts.path, found), redact(parts.query, found), "")
    )


def masked(config: dict[str, Any]) -> dict[str, Any]:
    """A gateway configuration with every secret (see the module) replaced by ``***``."""
    payload, url = str(config.get("payload", "")), str(config["url"])
    headers: dict[str, str] = dict(config.get("headers") or {})
    found = secret_values(payload, headers, url=url)
    result = dict(config)
    result["payload"] = redact(payload, found)
    result["url"] = _masked_url(url, found)
    result["headers"] = {name: redact(value, found) for name, value in headers.items()}
    if result.get("callback_secret"):
        result["callback_secret"] = MASK
    return result


class SecretMoved(ValueError):
    """A masked secret would be carried to another origin than the one it was entered for."""

    def __init__(self, field: str) -> None:
        super().__init__(
            f"the gateway URL's origin changed: its masked secrets ({MASK}) cannot move with"
            " it, enter them again"
        )
        self.field = field


def origin(url: str) -> tuple[str, str, int | None]:
    """Where a URL's requests go: scheme, host and port (the default one when not given)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


def _unmask_pieces(new: list[str], shown: list[str], stored: list[str]) -> tuple[list[str], bool]:
    # Pieces (``k=v`` pairs, path segments) sent back as shown get their stored form back; a
    # shown form that stands for several stored ones is resolved by position only.
    if len(shown) != len(stored):
        return new, False
    choices: dict[str, set[str]] = {}
    for shown_piece, stored_piece in zip(shown, stored, strict=True):
        if shown_piece != stored_piece:
            choices.setdefault(shown_piece, set()).add(stored_piece)
    result, carried = list(new), False
    for i, piece in enumerate(new):
        options = choices.get(piece, set())
        if len(options) == 1:
            result[i], carried = next(iter(options)), True
        elif options and i < len(shown) and shown[i] == piece:
            result[i], carried = stored[i], True
    return result, carried


def _unmask_text(new: str, shown: str, stored: str, sep: str) -> tuple[str, bool]:
    pieces, carried = _unmask_pieces(new.split(sep), shown.split(sep), stored.split(sep))
    return sep.join(pieces), carried


def _unmask_url(new: str, shown: str, stored: str) -> tuple[str, bool]:
    n, s, o = urlsplit(new), urlsplit(shown), urlsplit(stored)
    userinfo, at, host = n.netloc.rpartition("@")
    carried = bool(at) and userinfo == s.netloc.rpartition("@")[0] != o.netloc.rpartition("@")[0]
    netloc = f"{o.netloc.rpartition('@')[0]}@{host}" if carried else n.netloc
    path, in_path = _unmask_text(n.path, s.path, o.path, "/")
    query, in_query = _unmask_text(n.query, s.query, o.query, "&")
    return urlunsplit((n.scheme, netloc, path, query, n.fragment)), carried or in_path or in_query


def unmask(new: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """Put the stored secrets back where the client sent back their masked form unchanged:
    the whole field, or one ``k=v`` pair of a form payload or query, a path segment, the URL's
    userinfo, a header.

    Raises :class:`SecretMoved` naming the field when that would send a stored secret to
    another origin (scheme, host, port) than the stored URL's: a new host gets new secrets.
    """
    shown = masked(stored)
    merged = dict(new)
    carried: list[str] = []
    if merged.get("callback_secret") == shown.get("callback_secret"):
        # Herald's own secret (the gateway presents it to us): it may stay with a new host.
        merged["callback_secret"] = stored.get("callback_secret")
    for key in ("url", "payload"):
        value, was, old = merged.get(key), str(shown.get(key, "")), str(stored.get(key, ""))
        if not isinstance(value, str) or was == old:
            continue
        if value == was:
            merged[key], moved = old, True
        elif key == "url":
            merged[key], moved = _unmask_url(value, was, old)
        elif not old.lstrip().startswith(("{", "[")):
            merged[key], moved = _unmask_text(value, was, old, "&")
        else:
            moved = False
        if moved:
            carried.append(key)
    headers = merged.get("headers")
    if isinstance(headers, dict):
        old_headers, old_shown = stored.get("headers") or {}, shown["headers"]
        merged["headers"] = dict(headers)
        for name, value in headers.items():
            if name in old_headers and value == old_shown.get(name) != old_headers[name]:
                merged["headers"][name] = old_headers[name]
                carried.append(f"headers.{name}")
    if carried and origin(str(merged.get("url", ""))) != origin(str(stored.get("url", ""))):
        raise SecretMoved(carried[0])
    return merged
