"""Fixtures of the integration tests: a migrated pool and a broker channel, closed afterwards.

Tests that never touch RabbitMQ use ``pool`` (a private database only). Tests that do use
``herald_pool`` and ``broker``, both over the ``isolated`` database and vhost.

``isolated`` keeps the root fixture's contract (a database and a vhost nobody else uses,
removed afterwards), but one ``rabbitmqctl`` call costs about a second of CPU, three per test.
With a local ``rabbitmqctl``, vhosts are created and deleted here in batches, one ``eval``
call for several; when that is not possible, one by one as the root fixture does.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

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

log = logging.getLogger(__name__)

VHOST_BATCH = 8
_ACTOR = '<<"herald-tests">>'


class VhostSupply:
    """Vhosts for the tests, created ``VHOST_BATCH`` at a time and deleted likewise."""

    def __init__(self, infra: Infra) -> None:
        self.infra = infra
        self.user = urlsplit(infra.amqp_url).username or "guest"
        self.batched = infra.management_url is None  # a local rabbitmqctl
        self._stock: list[str] = []
        self._used: list[str] = []
        self._deleter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vhost-delete")
        self._deleting: list[Future[None]] = []

    def _eval(self, erlang: str) -> bool:
        try:
            done = subprocess.run(
                ["rabbitmqctl", "-q", "eval", erlang],
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
            )
        except subprocess.TimeoutExpired:
            log.warning("rabbitmqctl eval timed out; one vhost at a time")
            return False
        if done.returncode != 0 or done.stdout.strip() != "ok":
            log.warning("rabbitmqctl eval failed (%s); one vhost at a time", done.stderr.strip())
            return False
        return True

    @staticmethod
    def _binaries(names: list[str]) -> str:
        return "[" + ", ".join(f'<<"{name}">>' for name in names) + "]"

    def _add_batch(self) -> list[str]:
        names = [unique_name("herald_it") for _ in range(VHOST_BATCH)]
        erlang = (
            "lists:foreach(fun(V) -> ok = rabbit_vhost:add(V, "
            + _ACTOR
            + "), ok = rabbit_auth_backend_internal:set_permissions("
            + f'<<"{self.user}">>, V, <<".*">>, <<".*">>, <<".*">>, '
            + _ACTOR
            + ") end, "
            + self._binaries(names)
            + "), ok."
        )
        if self._eval(erlang):
            return names
        self.batched = False
        self._delete(names)  # whichever the failed call did create
        return []

    def _delete(self, names: list[str]) -> None:
        erlang = (
            "lists:foreach(fun(V) -> catch rabbit_vhost:delete(V, "
            + _ACTOR
            + ") end, "
            + self._binaries(names)
            + "), ok."
        )
        if not (self.batched and self._eval(erlang)):
            for name in names:
                self.infra.delete_vhost(name)

    def take(self) -> str:
        if not self._stock and self.batched:
            self._stock = self._add_batch()
        if self._stock:
            return self._stock.pop()
        name = unique_name("herald_it")
        self.infra.add_vhost(name)
        return name

    def discard(self, name: str) -> None:
        self._used.append(name)
        if len(self._used) >= VHOST_BATCH:
            used, self._used = self._used, []
            self._deleting.append(self._deleter.submit(self._delete, used))

    def close(self) -> None:
        leftover = self._used + self._stock
        self._used, self._stock = [], []
        if leftover:
            self._delete(leftover)
        for future in self._deleting:
            future.result()
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
