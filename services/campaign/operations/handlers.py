"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from pydantic import BaseModel

from services.campaign.http.answers import Answer
from services.campaign.http.routes import Route, tagged
from services.campaign.http.rules import PUBLIC, VIEWER, Rule
from services.campaign.http.web import json_response, state_of
from services.campaign.operations import repo
from shared import config_store

# Read from the database, so every process's work is counted once and the figures survive
# restarts (the services themselves keep no counters); cached for FIGURES_TTL seconds, so
# scrapes in a loop cost the database one round of counts per period, not one per request.
FIGURES_TTL = 15.0
_REGISTRY = CollectorRegistry()
_MESSAGES = Gauge(
    "herald_messages", "Messages in the ledger", ["channel", "status"], registry=_REGISTRY
)
_CAMPAIGNS = Gauge("herald_campaigns", "Campaigns by status", ["status"], registry=_REGISTRY)
_PAUSED = Gauge(
    "herald_gateway_paused", "1 while the SMS gateway is paused", ["channel"], registry=_REGISTRY
)
_DEAD = Gauge("herald_dead_letters", "Messages moved to the dead-letter table", registry=_REGISTRY)
_OUTBOX = Gauge("herald_outbox_pending", "Events not yet relayed to the broker", registry=_REGISTRY)


class Health(Answer):
    status: Literal["ok"]


class Checks(BaseModel):
    database: str = ""
    broker: str = ""


class Ready(Answer):
    status: Literal["ok", "unavailable"]
    checks: Checks


async def health(request: web.Request) -> web.Response:
    """The process answers."""
    return json_response(Health(status="ok"))


async def ready(request: web.Request) -> web.Response:
    """Database and broker reachable; 503 naming what is not."""
    state = state_of(request)
    checks = Checks()
    try:
        await asyncio.wait_for(repo.ping(state.pool), 2)
        checks.database = "ok"
    except Exception as exc:
        checks.database = f"unreachable: {type(exc).__name__}"
    checks.broker = "ok" if state.amqp.connected.is_set() else "unreachable"
    ok = checks.database == checks.broker == "ok"
    return json_response(
        Ready(status="ok" if ok else "unavailable", checks=checks), 200 if ok else 503
    )


@dataclass
class _Cached:
    at: float = -math.inf
    figures: repo.Figures | None = None
    paused: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


# Per application (a test process may run several), not stored in the started app's state.
_CACHES: weakref.WeakKeyDictionary[web.Application, _Cached] = weakref.WeakKeyDictionary()


async def _figures(request: web.Request) -> tuple[repo.Figures, bool]:
    """The database figures, at most ``FIGURES_TTL`` seconds old."""
    cached = _CACHES.setdefault(request.app, _Cached())
    async with cached.lock:  # concurrent scrapes share one round of counts
        if cached.figures is None or time.monotonic() - cached.at >= FIGURES_TTL:
            pool = state_of(request).pool
            cached.figures = await repo.figures(pool)
            cached.paused = await config_store.sms_pause(pool) is not None
            cached.at = time.monotonic()
        return cached.figures, cached.paused


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format."""
    figures, paused = await _figures(request)
    _MESSAGES.clear()
    for (channel, status), count in figures.messages.items():
        _MESSAGES.labels(channel, status).set(count)
    _CAMPAIGNS.clear()
    for status, count in figures.campaigns.items():
        _CAMPAIGNS.labels(status).set(count)
    _PAUSED.labels("sms").set(1 if paused else 0)
    _DEAD.set(figures.dead_letters)
    _OUTBOX.set(figures.outbox_pending)
    return web.Response(
        body=generate_latest(_REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


# Also served at the root, for probes.
ROUTES = tagged(
    "operations",
    Route("GET", "/health", health, PUBLIC, "The process answers", Health, at_root=True),
    Route("GET", "/ready", ready, PUBLIC, "Database and broker reachable", Ready,
          extra=((503, Ready, "database or broker unreachable"),), at_root=True),
    # A token (viewer): each scrape counts the ledger, not for anyone on the network.
    Route("GET", "/metrics", metrics, Rule(VIEWER), "Prometheus metrics", None,
          media_type="text/plain", at_root=True),
)  # fmt: skip
