"""Request limits: body size per route, and a per-token rate of campaigns and test sends.

Body size: 1 MiB unless the route needs more (bulk directory upserts, documents and
attachments: the application's 32 MiB; campaign bodies, whose id lists run to megabytes:
8 MiB). A declared ``Content-Length`` over the cap is refused at once; a body without one
(chunked) is cut off at the cap while it is read. Either way: 413.

Rate: ``POST /campaigns``, ``POST /campaigns/test`` and ``POST /config/sms/test`` share one
budget per token, ``HERALD_CAMPAIGN_RATE_PER_MINUTE`` (default 60, 0 turns it off): up to that
many at once, then one every ``60 / rate`` seconds; over it, 429 with ``Retry-After``.
``POST /campaigns/preview`` (each renders up to 100 recipients) has a budget of its own,
``HERALD_PREVIEW_RATE_PER_MINUTE`` (default 600).

The budget is a GCRA row in Postgres (the ``rate_limits`` table the senders use for gateways),
not a window in process memory: it holds across every API process and across restarts, and
these routes are rare and already write to the database, so one more indexed upsert per
request costs nothing that matters. An in-process window would allow N times the rate to a
deployment that runs N API processes, and forget everything on a restart.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import timedelta

from aiohttp import web
from aiohttp.typedefs import Middleware

from services.campaign.access import Principal, principal_of, route_key
from services.campaign.problems import Handler, Problem
from services.campaign.web import pool_of
from shared.db import Pool

MIB = 1024 * 1024
DEFAULT_BODY_BYTES = 1 * MIB
CAMPAIGN_BODY_BYTES = 8 * MIB
BULK_BODY_BYTES = 32 * MIB  # app.MAX_BODY_BYTES, the application's own cap
BODY_CAPS: dict[tuple[str, str], int] = {
    ("PUT", "/customers"): BULK_BODY_BYTES,
    ("PUT", "/leads"): BULK_BODY_BYTES,
    ("PUT", "/documents"): BULK_BODY_BYTES,
    ("POST", "/attachments"): BULK_BODY_BYTES,
    ("POST", "/campaigns"): CAMPAIGN_BODY_BYTES,
    ("POST", "/campaigns/preview"): CAMPAIGN_BODY_BYTES,
    ("POST", "/campaigns/test"): CAMPAIGN_BODY_BYTES,
}

RATE_ENV = "HERALD_CAMPAIGN_RATE_PER_MINUTE"
DEFAULT_RATE_PER_MINUTE = 60.0
# Route → the budget it draws from; each budget has its own rate per token and minute.
RATE_LIMITED: dict[tuple[str, str], str] = {
    ("POST", "/campaigns"): "campaigns and test sends",
    ("POST", "/campaigns/test"): "campaigns and test sends",
    ("POST", "/config/sms/test"): "campaigns and test sends",
    ("POST", "/campaigns/preview"): "previews",
}
PERIOD = timedelta(minutes=1)


def body_cap(key: tuple[str, str] | None) -> int:
    """The largest request body a route accepts."""
    return BODY_CAPS.get(key, DEFAULT_BODY_BYTES) if key else DEFAULT_BODY_BYTES


def rate_per_minute(environ: Mapping[str, str] = os.environ) -> float:
    """``HERALD_CAMPAIGN_RATE_PER_MINUTE``: campaigns and test sends per token and minute."""
    raw = environ.get(RATE_ENV, "").strip()
    if not raw:
        return DEFAULT_RATE_PER_MINUTE
    try:
        rate = float(raw)
    except ValueError:
        raise SystemExit(f"{RATE_ENV} must be a number, got {raw!r}") from None
    if not 0 <= rate <= 1_000_000 or math.isnan(rate):
        raise SystemExit(f"{RATE_ENV} must be between 0 (no limit) and 1000000, got {raw!r}")
    return rate


def bucket(principal: Principal | None) -> str:
    """The rate-limit row of a caller."""
    if principal is None or principal.token_id is None:
        return "api-token:bootstrap"
    return f"api-token:{principal.token_id}"


async def take(pool: Pool, name: str, rate: float) -> float:
    """Take one request from ``name``'s budget: 0 if allowed, else the seconds to wait.

    GCRA: the row holds the theoretical arrival time (tat) of the next request; a request is
    allowed while it does not push tat more than one period ahead of now.
    """
    interval = PERIOD / rate
    allowed = await pool.fetchval(
        """
        INSERT INTO rate_limits AS r (name, tat) VALUES ($1, now() + $2::interval)
        ON CONFLICT (name) DO UPDATE SET tat = greatest(r.tat, now()) + $2::interval
            WHERE greatest(r.tat, now()) + $2::interval <= now() + $3::interval
        RETURNING true
        """,
        name,
        interval,
        PERIOD,
    )
    if allowed:
        return 0.0
    wait = await pool.fetchval(
        "SELECT extract(epoch FROM tat + $2::interval - $3::interval - now())::float8"
        " FROM rate_limits WHERE name = $1",
        name,
        interval,
        PERIOD,
    )
    return max(float(wait or 0.0), 0.001)


def middleware(rate: float | None = None, preview_rate: float = 600) -> Middleware:
    """Body caps and the rates; after auth.middleware and access.middleware.

    ``rate`` of campaigns per token and minute (None reads ``HERALD_CAMPAIGN_RATE_PER_MINUTE``),
    ``preview_rate`` of previews.
    """
    rates = {"campaigns and test sends": rate_per_minute() if rate is None else rate}
    rates["previews"] = preview_rate

    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        key = route_key(request)
        cap = body_cap(key)
        length = request.content_length
        if length is not None and length > cap:
            raise Problem(413, f"request body of {length} bytes; this route takes {cap} at most")
        budget = RATE_LIMITED.get(key) if key else None
        per_minute = rates[budget] if budget else 0
        if budget and per_minute > 0:
            name = bucket(principal_of(request))
            if budget == "previews":
                name += ":previews"
            wait = await take(pool_of(request), name, per_minute)
            if wait > 0:
                seconds = math.ceil(wait)
                raise Problem(
                    429,
                    f"at most {per_minute:g} {budget} per minute for this token;"
                    f" retry in {seconds} s",
                    headers={"Retry-After": str(seconds)},
                )
        if request.body_exists and cap < request.client_max_size:
            request = request.clone(client_max_size=cap)
        return await handler(request)

    return limit
