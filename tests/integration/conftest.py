"""Fixtures of the integration tests: a migrated pool and a broker channel, closed afterwards.

Tests that never touch RabbitMQ use ``pool`` (a private database only). Tests that do use
``herald_pool`` and ``broker``, both over the root fixture's ``isolated`` database and the
run's vhost (its queues emptied before each test).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from aio_pika.abc import AbstractExchange, AbstractRobustChannel, AbstractRobustConnection
from aiohttp import web

from sandbox.app import create_app
from sandbox.state import State
from shared import amqp, db
from shared.db import Pool
from tests.conftest import Isolated
from tests.support.infra import Infra, unique_name
from tests.support.pg_clock import FixedClock, fixed_clock


@pytest.fixture
def database_url(infra: Infra) -> Iterator[str]:
    """A database nobody else uses (no vhost), dropped afterwards."""
    url = infra.database(unique_name("herald_it"))
    try:
        yield url
    finally:
        asyncio.run(db.drop_database(url))


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    """A migrated pool over a private database, for database-only tests."""
    opened = await db.open_database(database_url, max_size=12)
    try:
        yield opened
    finally:
        await opened.close()


# The time a ``clock`` starts at.
T0 = datetime(2026, 11, 25, 12, tzinfo=UTC)


@pytest.fixture
async def clock(pool: Pool, database_url: str) -> AsyncIterator[FixedClock]:
    """A connection to ``pool``'s database whose ``now()`` reads T0 until the test moves it."""
    async with fixed_clock(database_url, T0) as fixed:
        yield fixed


@pytest.fixture
async def herald_pool(isolated: Isolated) -> AsyncIterator[Pool]:
    """A migrated pool over the ``isolated`` database (tests that also use ``broker``)."""
    opened = await db.open_database(isolated.database_url, max_size=12)
    try:
        yield opened
    finally:
        await opened.close()


@dataclass
class Broker:
    """A connection to the isolated vhost, one confirming channel and Herald's exchange."""

    connection: AbstractRobustConnection
    channel: AbstractRobustChannel
    exchange: AbstractExchange

    async def channel_with(self, prefetch: int) -> tuple[AbstractRobustChannel, AbstractExchange]:
        """Another channel on the same connection (closed with it)."""
        return await amqp.open_channel(self.connection, prefetch=prefetch)


@pytest.fixture
async def broker(isolated: Isolated) -> AsyncIterator[Broker]:
    """The topology declared in the isolated vhost, and a channel to use it."""
    connection = await amqp.connect(isolated.amqp_url, name="herald-integration-tests")
    try:
        channel, exchange = await amqp.open_channel(connection)
        yield Broker(connection, channel, exchange)
    finally:
        await connection.close()


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[str, State]]:
    """The sandbox gateway on a free port of this process: its URL and its recordings."""
    state = State()
    runner = web.AppRunner(create_app(state), access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", state
    finally:
        await runner.cleanup()
