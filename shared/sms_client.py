"""Outbound HTTP to the SMS gateway: one keep-alive session per configuration, and the one
deliver step (build the call, make it, classify the answer, redact) that the senders and the
API's synchronous test send share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp

from shared import outbound, secrets
from shared.models import SmsConfig
from shared.sms_answer import classify_exception, classify_response
from shared.sms_request import HttpRequest, build_request
from shared.verdicts import Classification

# Answers are short ("0|IN_PROGRESS|4712345678"); cap what we read from a misbehaving server.
MAX_ANSWER_BYTES = 64 * 1024


class Gateway:
    """Sends requests with the connection limit, TLS check and timeout of a configuration."""

    def __init__(self, config: SmsConfig) -> None:
        self.config = config
        # Callers hold this while they claim and send, so claims never outrun connections.
        self.capacity = asyncio.Semaphore(config.max_connections)
        host = urlsplit(str(config.url)).hostname or ""
        connector = aiohttp.TCPConnector(
            limit=config.max_connections,
            ssl=config.verify_ssl,
            # Every connection goes only where HERALD_OUTBOUND_ALLOW lets it (after DNS).
            socket_factory=outbound.socket_factory(outbound.policy(), host),
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=config.timeout_seconds),
            raise_for_status=False,
        )
        self._hidden = secrets.secret_values(config.payload, config.headers, url=str(config.url))

    def request(self, to: str, message: str, message_id: int) -> HttpRequest:
        """The HTTP request for one SMS (ValueError when the settings cannot make one)."""
        config = self.config
        return build_request(
            method=config.method,
            url=str(config.url),
            content_type=config.content_type,
            payload=config.payload,
            headers=config.headers,
            to=to,
            message=message,
            message_id=message_id,
        )

    async def send(self, request: HttpRequest) -> tuple[int, str]:
        """The HTTP status and body text of the gateway's answer (exceptions propagate)."""
        async with self._session.request(
            request.method,
            request.url,
            headers=request.headers,
            data=request.body,
            # A redirect could lead anywhere, past the outbound policy's view of the URL.
            allow_redirects=False,
        ) as response:
            raw = await response.content.read(MAX_ANSWER_BYTES)
            text = raw.decode(response.charset or "utf-8", "replace")
            # NUL cannot be stored in Postgres text, and no gateway means it.
            return response.status, text.replace("\x00", "\ufffd")

    def redact(self, text: str) -> str:
        """``text`` without any credential of this configuration."""
        return secrets.redact(text, self._hidden)

    async def close(self) -> None:
        """Close the connections."""
        await self._session.close()


def describe_request(request: HttpRequest) -> str:
    """A readable copy of the HTTP request for the SMS log (to be redacted by the caller)."""
    lines = [f"{request.method} {request.url}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    if request.body is not None:
        lines += ["", request.body.decode("utf-8", "replace")]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class GatewayCall:
    """One SMS handed to the gateway: the verdict and what the log keeps, all redacted."""

    verdict: Classification
    request: str | None = None
    http_status: int | None = None
    body: str | None = None

    @property
    def answer(self) -> str | None:
        """The answer as the SMS log keeps it: status line, then body."""
        return None if self.http_status is None else f"HTTP {self.http_status}\n{self.body}"


async def deliver(
    gateway: Gateway,
    to: str,
    text: str,
    message_id: int,
    *,
    pace: Callable[[], Awaitable[None]] | None = None,
) -> GatewayCall:
    """Send one SMS: build the request, await ``pace`` (a rate limit slot) right before the
    call so the gateway sees the slots' spacing, classify the answer or the failure, and
    remove every credential from what is returned."""
    try:
        request = gateway.request(to, text, message_id)
    except ValueError as exc:
        return GatewayCall(Classification("permanent", f"gateway configuration: {exc}", None, None))
    described = gateway.redact(describe_request(request))
    try:
        if pace is not None:
            await pace()
        status, body = await gateway.send(request)
    except Exception as exc:
        verdict = classify_exception(exc)
        return GatewayCall(_redacted(gateway, verdict), described)
    verdict = classify_response(status, body, gateway.config.success_text, now=datetime.now(UTC))
    return GatewayCall(_redacted(gateway, verdict), described, status, gateway.redact(body))


def _redacted(gateway: Gateway, verdict: Classification) -> Classification:
    return Classification(
        verdict.verdict,
        gateway.redact(verdict.reason),
        verdict.code,
        verdict.batch_id,
        verdict.retry_after,
    )
