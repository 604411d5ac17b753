"""Fixtures of the integration tests: a migrated pool and a broker channel, closed afterwards.

Tests that never touch RabbitMQ use ``pool`` (a private database only). Tests that do use
``herald_pool`` and ``broker``, both over the ``isolated`` database and vhost.

``isolated`` is the root fixture's contract (a fresh database and vhost per test, removed
afterwards), but rabbitmqctl takes about 1.5 s per vhost: here the next vhost is created in a
background thread while the current test runs, and used ones are deleted there too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from aio_pika.abc import AbstractExchange, AbstractRobustChannel, AbstractRobustConnection

from shared import amqp, db
from shared.db import Pool
from tests.conftest import Isolated
from tests.support.infra import Infra, unique_name


class VhostSupply:
    """Fresh vhosts, each created one test ahead; rabbitmqctl runs in worker threads."""

    def __init__(self, infra: Infra) -> None:
        self.infra = infra
        self._creator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vhost-add")
        self._deleter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vhost-delete")
        self._next: Future[str] | None = None

    def _create(self) -> str:
        name = unique_name("herald_it")
        self.infra.add_vhost(name)
        return name

    def take(self) -> str:
        ready = self._next or self._creator.submit(self._create)
        name = ready.result()
        self._next = self._creator.submit(self._create)
        return name

    def discard(self, name: str) -> None:
        self._deleter.submit(self.infra.delete_vhost, name)

    def close(self) -> None:
        if self._next is not None:
            self.discard(self._next.result())
        self._creator.shutdown(wait=True)
        self._deleter.shutdown(wait=True)


@pytest.fixture(scope="session")
def vhosts(infra: Infra) -> Iterator[VhostSupply]:
    supply = VhostSupply(infra)
    try:
        yield supply
    finally:
        supply.close()


@pytest.fixture
def isolated(infra: Infra, vhosts: VhostSupply) -> Iterator[Isolated]:
    """A database and a vhost nobody else uses, dropped afterwards."""
    name = vhosts.take()
    database_url = infra.database(name)
    try:
        yield Isolated(database_url, infra.vhost_url(name))
    finally:
        vhosts.discard(name)
        asyncio.run(db.drop_database(database_url))


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
