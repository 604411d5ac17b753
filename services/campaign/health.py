"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.campaign.web import json_response, state_of


async def health(request: web.Request) -> web.Response:
    """The process answers."""
    return json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    """Database and broker reachable; 503 naming what is not."""
    state = state_of(request)
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(state.pool.fetchval("SELECT 1"), 2)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    checks["broker"] = "ok" if state.amqp.connected.is_set() else "unreachable"
    ok = all(v == "ok" for v in checks.values())
    return json_response(
        {"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503
    )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format."""
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def routes() -> list[web.RouteDef]:
    """Operational routes (also served at the root, for probes)."""
    return [web.get("/health", health), web.get("/ready", ready), web.get("/metrics", metrics)]
