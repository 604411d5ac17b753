"""What an SMS gateway's answer, or the failure of calling it, means. Pure logic, no I/O.

:func:`classify_response` and :func:`classify_exception` turn one call into a
:class:`~shared.verdicts.Classification` the sender acts on (section 3 of the product docs'
``../shared/docs/domain.md`` covers the BulkSMS EAPI answer codes).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from shared import outbound
from shared.verdicts import Classification, Verdict

__all__ = ["classify_exception", "classify_response"]

_REASON_BODY_CHARS = 200


# ../shared/docs/domain.md section 3. 23/25/27 pause the gateway: every other message would
# fail the same way, so marking each recipient failed would burn the whole campaign.
_BULKSMS_CODES: dict[int, tuple[Verdict, str]] = {
    0: ("sent", "in progress"),
    1: ("sent", "scheduled"),
    22: ("permanent", "internal fatal error"),
    23: ("gateway_paused", "authentication failure"),
    24: ("permanent", "data validation failed"),
    25: ("gateway_paused", "insufficient credits"),
    26: ("retry", "upstream credits not available"),
    27: ("gateway_paused", "daily quota exceeded"),
    28: ("retry", "upstream quota exceeded"),
    40: ("retry", "temporarily unavailable"),
    201: ("permanent", "maximum batch size exceeded"),
}
_BULKSMS_QUOTA_CODE = 27

# Non-2xx statuses that retrying cannot fix. Every other non-2xx status is transient (retry).
# 404/405 mean the configured URL or method is wrong, which fails every message alike, so they
# pause the gateway like bad credentials instead of failing each recipient.
_HTTP_STATUSES: dict[int, tuple[Verdict, str]] = {
    400: ("permanent", "bad request"),
    401: ("gateway_paused", "unauthorized"),
    403: ("gateway_paused", "forbidden"),
    404: ("gateway_paused", "not found"),
    405: ("gateway_paused", "method not allowed"),
    413: ("permanent", "payload too large"),
    422: ("permanent", "unprocessable entity"),
}

_BULKSMS_ANSWER = re.compile(r"\A(\d+)\|([^|]*)\|([^|]*)\Z")
# Starts like an EAPI answer; if it then fails _BULKSMS_ANSWER it is a protocol error.
_BULKSMS_PREFIX = re.compile(r"\A\d+\|")


def _snippet(body: str) -> str:
    text = " ".join(body.split())
    if len(text) > _REASON_BODY_CHARS:
        return text[:_REASON_BODY_CHARS] + "..."
    return text


def _seconds_until_utc_midnight(now: datetime) -> float:
    now_utc = now.astimezone(UTC) if now.tzinfo is not None else now.replace(tzinfo=UTC)
    midnight = datetime.combine(now_utc.date() + timedelta(days=1), datetime.min.time(), UTC)
    return (midnight - now_utc).total_seconds()


def _classify_bulksms(match: re.Match[str], now: datetime | None) -> Classification:
    code = int(match[1])
    description = match[2].strip()
    verdict, meaning = _BULKSMS_CODES.get(code, ("permanent", "unknown status code"))
    reason = f"BulkSMS {code}: {meaning}"
    if description and description.lower() != meaning:
        reason += f" ({description})"
    batch_id = (match[3].strip() or None) if verdict == "sent" else None
    retry_after = None
    if code == _BULKSMS_QUOTA_CODE and now is not None:
        retry_after = _seconds_until_utc_midnight(now)
    return Classification(verdict, reason, code, batch_id, retry_after)


def classify_response(
    status: int, body: str, success_text: str, *, now: datetime | None = None
) -> Classification:
    """Classify a gateway's HTTP answer.

    Order: non-2xx statuses first (a small table of hopeless ones, every other one retries);
    then a 2xx body starting like a BulkSMS EAPI answer (``code|description|batch_id``) is decided
    by its code alone, and one that does not split into exactly three fields is a permanent
    protocol error; any other 2xx body is sent when it contains ``success_text`` (any 2xx when
    that is empty) and permanent otherwise.

    BulkSMS 27 (daily quota) pauses the gateway; ``retry_after`` is the time until the next UTC
    midnight when ``now`` is given (assumed quota reset; a naive ``now`` is taken as UTC), else
    None. The reason may quote up to 200 characters of the body: redact it before storing.
    """
    if not 200 <= status <= 299:
        verdict, meaning = _HTTP_STATUSES.get(status, ("retry", "transient"))
        snippet = _snippet(body)
        reason = f"HTTP {status} {meaning}" + (f": {snippet}" if snippet else "")
        return Classification(verdict, reason, None, None)

    stripped = body.strip()
    if _BULKSMS_PREFIX.match(stripped):
        match = _BULKSMS_ANSWER.match(stripped)
        if match is None:
            return Classification(
                "permanent",
                f"protocol error: BulkSMS answer is not code|description|batch_id: "
                f"{_snippet(stripped)}",
                None,
                None,
            )
        return _classify_bulksms(match, now)

    if not success_text or success_text in body:
        return Classification("sent", f"HTTP {status}: success", None, None)
    return Classification(
        "permanent",
        f"HTTP {status}: response does not contain the success text: {_snippet(body)}",
        None,
        None,
    )


def _mro_names(exc: BaseException) -> list[str]:
    return [cls.__name__ for cls in type(exc).__mro__]


def _named(names: list[str], *fragments: str) -> bool:
    return any(fragment in name for name in names for fragment in fragments)


def _describe(exc: BaseException) -> str:
    message = _snippet(str(exc))
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def classify_exception(exc: BaseException) -> Classification:
    """Classify an exception raised while calling a gateway: retry, or a paused gateway when
    the outbound policy refused the address.

    The reason says whether the gateway may have received the request: ``"unknown outcome: "``
    (timeouts, disconnects, payload errors, resets once connected) or ``"connection failed: "``
    (nothing was sent: connect errors, refused, DNS, TLS); anything else is ``"unexpected: "``.
    aiohttp exceptions are recognised by the class names in their MRO, so this module does not
    import aiohttp. Callers must let ``asyncio.CancelledError`` propagate rather than classify it.
    """
    refused = outbound.refusal_in(exc)
    if refused is not None:
        # The configured URL leads where HERALD_OUTBOUND_ALLOW forbids: no retry can help.
        return Classification("gateway_paused", f"outbound policy: {refused}", None, None)
    names = _mro_names(exc)
    # Order matters: ClientConnectorError and ConnectionTimeoutError (connect-phase, request not
    # sent) inherit from ClientOSError / timeout classes that otherwise mean "maybe sent".
    if _named(names, "ClientConnector", "ConnectionTimeout") or isinstance(
        exc, ConnectionRefusedError
    ):
        return Classification("retry", f"connection failed: {_describe(exc)}", None, None)
    if isinstance(
        exc, TimeoutError | ConnectionResetError | ConnectionAbortedError | BrokenPipeError
    ) or _named(names, "Timeout", "ServerDisconnected", "ClientPayload", "ClientOSError"):
        return Classification("retry", f"unknown outcome: {_describe(exc)}", None, None)
    if isinstance(exc, OSError) or _named(names, "ClientConnect"):
        return Classification("retry", f"connection failed: {_describe(exc)}", None, None)
    return Classification("retry", f"unexpected: {_describe(exc)}", None, None)
