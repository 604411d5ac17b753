"""Request limits: body size per route, and a per-token rate of campaigns and test sends.

Body size: each route's ``body_cap`` (``http/routes.py``: 1 MiB unless the route declares
more). A declared ``Content-Length`` over the cap is refused at once; a body without one
(chunked) is cut off at the cap while it is read. Either way: 413.

Rate: the routes declared ``rate_limited`` (``POST /campaigns``, ``POST /campaigns/test``,
``POST /config/sms/test``) share one budget per token, ``Settings.campaign_rate_per_minute``
(``HERALD_CAMPAIGN_RATE_PER_MINUTE``, default 60, 0 turns it off): up to that many at once,
then one every ``60 / rate`` seconds; over it, 429 with ``Retry-After``. Routes declared with
``budget="previews"`` (``POST /campaigns/preview``: each renders up to 100 recipients) draw on
a budget of their own, ``Settings.preview_rate_per_minute`` (default 600).

The budget is a GCRA row in Postgres (the ``rate_limits`` table the senders use for gateways),
not a window in process memory: it holds across every API process and across restarts, and
these routes are rare and already write to the database, so one more indexed upsert per
request costs nothing that matters. An in-process window would allow N times the rate to a
deployment that runs N API processes, and forget everything on a restart.
"""

from __future__ import annotations

import math

from aiohttp import web
from aiohttp.typedefs import Middleware

from services.campaign.http import repo, routes
from services.campaign.http.access import Principal, principal_of
from services.campaign.http.problems import Handler, Problem
from services.campaign.http.web import pool_of


def bucket(principal: Principal | None) -> str:
    """The rate-limit row of a caller."""
    if principal is None or principal.token_id is None:
        return "api-token:bootstrap"
    return f"api-token:{principal.token_id}"


# What each budget counts, as a 429 says it.
_COUNTED = {"campaigns": "campaigns and test sends", "previews": "previews"}


def middleware(per_minute: float, previews_per_minute: float = 0) -> Middleware:
    """Body caps and the rates (per token: ``per_minute`` campaigns and test sends,
    ``previews_per_minute`` previews; 0: no limit); after auth.middleware and
    access.middleware."""
    rates = {"campaigns": per_minute, "previews": previews_per_minute}

    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = routes.declared(request)
        cap = route.body_cap if route is not None else routes.DEFAULT_BODY_BYTES
        length = request.content_length
        if length is not None and length > cap:
            raise Problem(413, f"request body of {length} bytes; this route takes {cap} at most")
        rate = rates[route.budget] if route is not None and route.rate_limited else 0
        if route is not None and rate > 0:
            name = bucket(principal_of(request))
            if route.budget != "campaigns":
                name += f":{route.budget}"
            wait = await repo.take(pool_of(request), name, rate)
            if wait > 0:
                seconds = math.ceil(wait)
                raise Problem(
                    429,
                    f"at most {rate:g} {_COUNTED[route.budget]} per minute for this token;"
                    f" retry in {seconds} s",
                    headers={"Retry-After": str(seconds)},
                )
        if request.body_exists and cap < request.client_max_size:
            request = request.clone(client_max_size=cap)
        return await handler(request)

    return limit
