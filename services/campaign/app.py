"""Wiring of the HTTP API: routes, middlewares, the outbox relay, start and stop."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from services.campaign import (
    access,
    auth,
    callbacks,
    campaigns,
    controls,
    directory,
    files,
    gateway_config,
    health,
    history,
    limits,
    logs,
    openapi,
    outbox,
    portal,
    problems,
    templates_api,
    tokens,
)
from services.campaign.web import STATE, State
from shared import amqp, db, render_pool, service
from shared.settings import Settings

PREFIX = "/api/v1"
# Bulk upserts of 10,000 records with attributes run to several megabytes.
MAX_BODY_BYTES = 32 * 1024 * 1024


def create_app(state: State) -> web.Application:
    """The aiohttp application serving ``/api/v1`` (and the probes at the root)."""
    token = state.settings.api_token
    if token is None and not state.settings.insecure_dev:
        raise SystemExit("HERALD_API_TOKEN is required (or set HERALD_INSECURE_DEV=1)")
    app = web.Application(
        middlewares=[
            problems.middleware,
            auth.middleware(token.get_secret_value() if token else None),
            access.middleware,
            limits.middleware(preview_rate=state.settings.preview_rate_per_minute),
        ],
        client_max_size=MAX_BODY_BYTES,
    )
    app[STATE] = state
    for module in (
        directory,
        campaigns,
        history,
        controls,
        templates_api,
        gateway_config,
        logs,
        files,
        portal,
        callbacks,
        tokens,
        health,
        openapi,
    ):
        for route in module.routes():
            assert isinstance(route, web.RouteDef)
            app.router.add_route(route.method, PREFIX + route.path, route.handler)
    for route in health.routes():
        assert isinstance(route, web.RouteDef)
        app.router.add_route(route.method, route.path, route.handler)
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
        await service.settle(renderer.close())
        await service.settle(connection.close())
        await service.settle(pool.close())
