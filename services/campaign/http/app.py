"""Wiring of the HTTP API: routes, middlewares, the outbox relay, start and stop."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from services.campaign.audit import handlers as audit
from services.campaign.callbacks import handlers as callbacks
from services.campaign.campaigns import controls, history
from services.campaign.campaigns import create as campaigns
from services.campaign.console import routes as console
from services.campaign.directory import handlers as directory
from services.campaign.files import handlers as files
from services.campaign.http import access, auth, limits, openapi, problems, routes
from services.campaign.http.routes import BULK_BODY_BYTES, PREFIX, Route
from services.campaign.http.web import STATE, State
from services.campaign.logs import handlers as logs
from services.campaign.operations import handlers as health
from services.campaign.outbox import relay as outbox
from services.campaign.portal import handlers as portal
from services.campaign.reference import handlers as reference
from services.campaign.settings import company as company_settings
from services.campaign.settings import email as email_settings
from services.campaign.settings import sms as sms_settings
from services.campaign.templates import handlers as templates
from services.campaign.tokens import handlers as tokens
from shared import amqp, db, render_pool, service
from shared.settings import Settings

# Every route of the API, in the order the router tries them.
ROUTES: tuple[Route, ...] = (
    *directory.ROUTES,
    *reference.ROUTES,
    *campaigns.ROUTES,
    *history.ROUTES,
    *controls.ROUTES,
    *templates.ROUTES,
    *sms_settings.ROUTES,
    *company_settings.ROUTES,
    *email_settings.ROUTES,
    *logs.ROUTES,
    *files.ROUTES,
    *portal.ROUTES,
    *callbacks.ROUTES,
    *tokens.ROUTES,
    *audit.ROUTES,
    *health.ROUTES,
    *openapi.ROUTES,
)


MIN_TOKEN_CHARS = 32


def create_app(state: State) -> web.Application:
    """The aiohttp application serving ``/api/v1`` (and the probes at the root)."""
    token = state.settings.api_token
    if not state.settings.insecure_dev:
        if token is None:
            raise SystemExit("HERALD_API_TOKEN is required (or set HERALD_INSECURE_DEV=1)")
        if len(token.get_secret_value()) < MIN_TOKEN_CHARS:
            # A short admin token is guessable over the network: refuse it outright.
            raise SystemExit(
                f"HERALD_API_TOKEN must be at least {MIN_TOKEN_CHARS} characters"
                " (python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
    app = web.Application(
        middlewares=[
            problems.middleware,
            auth.middleware(token.get_secret_value() if token else None),
            access.middleware,
            limits.middleware(
                state.settings.campaign_rate_per_minute, state.settings.preview_rate_per_minute
            ),
        ],
        client_max_size=BULK_BODY_BYTES,
    )
    app[STATE] = state
    routes.register(app, ROUTES)
    console.register(app)
    return app


async def main(settings: Settings, stop: asyncio.Event) -> None:
    """Serve the API until ``stop`` is set."""
    pool = await db.open_database(settings.database_url)
    connection = await amqp.connect(settings.amqp_url, name="herald-campaign")
    _, exchange = await amqp.open_channel(connection)
    renderer = render_pool.RenderPool(render_pool.Limits.of(settings))
    await renderer.start()
    state = State(
        settings=settings, pool=pool, amqp=connection, exchange=exchange, renderer=renderer
    )
    app = create_app(state)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    relay = asyncio.create_task(outbox.run(pool, exchange, state.outbox_wakeup))
    service.ready("campaign", f"http://{settings.http_host}:{settings.http_port}{PREFIX}")
    try:
        await stop.wait()
    finally:
        # Stop taking requests, let in-flight ones finish, then drop the connections.
        await runner.cleanup()
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
        await service.shutdown_step(renderer.close())
        await service.shutdown_step(connection.close())
        await service.shutdown_step(pool.close())
