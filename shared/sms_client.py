"""Outbound HTTP to the SMS gateway: one keep-alive session per configuration (used by the
senders, and by the API for its synchronous test send)."""

from __future__ import annotations

import asyncio

import aiohttp

from shared.models import SmsConfig
from shared.sms_gateway import HttpRequest, build_request

# Answers are short ("0|IN_PROGRESS|4712345678"); cap what we read from a misbehaving server.
MAX_ANSWER_BYTES = 64 * 1024


class Gateway:
    """Sends requests with the connection limit, TLS check and timeout of a configuration."""

    def __init__(self, config: SmsConfig) -> None:
        self.config = config
        # Callers hold this while they claim and send, so claims never outrun connections.
        self.capacity = asyncio.Semaphore(config.max_connections)
        connector = aiohttp.TCPConnector(limit=config.max_connections, ssl=config.verify_ssl)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=config.timeout_seconds),
            raise_for_status=False,
        )

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
            request.method, request.url, headers=request.headers, data=request.body
        ) as response:
            raw = await response.content.read(MAX_ANSWER_BYTES)
            text = raw.decode(response.charset or "utf-8", "replace")
            # NUL cannot be stored in Postgres text, and no gateway means it.
            return response.status, text.replace("\x00", "\ufffd")

    async def close(self) -> None:
        """Close the connections."""
        await self._session.close()
