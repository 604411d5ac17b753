"""Bearer-token authentication of the API."""

from __future__ import annotations

import hmac

from aiohttp import web
from aiohttp.typedefs import Middleware

from services.campaign.problems import Handler, Problem

# Reachable without a token: liveness/readiness probes and Prometheus scraping.
PUBLIC_PATHS = frozenset(
    {
        "/health",
        "/ready",
        "/metrics",
        "/api/v1/health",
        "/api/v1/ready",
        "/api/v1/metrics",
        "/api/v1/openapi.json",
    }
)
PUBLIC_PREFIXES = ("/api/v1/callbacks/",)


def middleware(token: str | None) -> Middleware:
    """Refuse requests without ``Authorization: Bearer <token>``; None disables the check."""
    expected = token.encode() if token else None

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if expected is None or request.path in PUBLIC_PATHS:
            return await handler(request)
        if request.path.startswith(PUBLIC_PREFIXES):
            return await handler(request)
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise Problem(
                401,
                "missing bearer token (Authorization: Bearer <token>)",
                headers={"WWW-Authenticate": 'Bearer realm="herald"'},
            )
        # Constant-time comparison: the answer time says nothing about the token.
        if not hmac.compare_digest(given.strip().encode(), expected):
            raise Problem(
                401,
                "invalid bearer token",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return await handler(request)

    return check
