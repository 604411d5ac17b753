"""Fixtures: real Postgres and RabbitMQ, a private database per test and one vhost per run.

A vhost and its 33 quorum queues cost the broker far more than a database costs Postgres
(and a busy broker serialises vhost changes for minutes), so every test of a run shares one
vhost, emptied before each test that uses it (``tests.support.broker``).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from demo.client import Api, sandbox_sms_config
from demo.stack import Stack
from shared import db
from tests.support.broker import Vhost
from tests.support.infra import Infra, discover, unique_name
from tests.support.tasks import leaked_tasks

# Tests talk to the sandbox gateway and SMTP servers on loopback, and to nothing else.
os.environ.setdefault("HERALD_OUTBOUND_ALLOW", "127.0.0.1,::1,localhost")

# Tests without their own timeout marker get these (seconds); pyproject's 120 s stays the
# ceiling for the rest. Unit tests take a second at most.
DEFAULT_TIMEOUTS = {"unit": 10, "integration": 60}
TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("timeout") is not None:
            continue
        suite = item.path.relative_to(TESTS).parts[0] if item.path.is_relative_to(TESTS) else ""
        if suite in DEFAULT_TIMEOUTS:
            item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUTS[suite]))


@pytest.fixture(autouse=True)
def _no_leaked_tasks(request: pytest.FixtureRequest) -> None:
    """Async tests fail if they leave a task running (set up first, checked last)."""
    if inspect.iscoroutinefunction(getattr(request.node, "obj", None)):
        request.getfixturevalue("_task_check")


@pytest.fixture
async def _task_check() -> AsyncIterator[None]:
    yield
    leaked = await leaked_tasks()
    if leaked:
        pytest.fail("the test left tasks running (cancelled now): " + "; ".join(leaked))


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    with discover() as found:
        yield found


@dataclass
class Isolated:
    database_url: str
    amqp_url: str


@pytest.fixture(scope="session")
def vhost(infra: Infra) -> Iterator[Vhost]:
    """The run's vhost, deleted at the end."""
    with infra.private_vhost() as url:
        yield Vhost(url)


@contextlib.contextmanager
def isolation(infra: Infra, vhost: Vhost) -> Iterator[Isolated]:
    """A database nobody else uses (dropped afterwards) and a vhost whose queues are empty
    and have no consumer left by an earlier test."""
    vhost.reset()
    database_url = infra.database(unique_name())
    try:
        yield Isolated(database_url, vhost.url)
    finally:
        asyncio.run(db.drop_database(database_url))


@contextlib.contextmanager
def running_stack(
    isolated: Isolated,
    log_dir: Path,
    senders: int = 1,
    *,
    only: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """The sandbox and the four services (or ``only`` those named, in that order) as real
    processes, stopped (cleanly) afterwards."""
    running = Stack(isolated.database_url, isolated.amqp_url, log_dir, extra_env=extra_env or {})
    try:
        if only:
            for name in only:
                running.start(name)
        else:
            running.start_all(senders=senders)
        yield running
    finally:
        codes = running.stop_all()
        # Every process must stop cleanly on SIGTERM.
        assert all(code == 0 for code in codes.values()), (codes, running.logs()[-3000:])


@pytest.fixture
def isolated(infra: Infra, vhost: Vhost) -> Iterator[Isolated]:
    """A database nobody else uses and the run's vhost, emptied (see ``isolation``)."""
    with isolation(infra, vhost) as found:
        yield found


@pytest.fixture
def stack(isolated: Isolated, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    """The sandbox and the four services as real processes; one sender unless the test is
    parametrized indirectly with ``senders``."""
    with running_stack(isolated, tmp_path / "logs", getattr(request, "param", None) or 1) as s:
        yield s


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[Api]:
    client = Api(stack.api_url, stack.token)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def sandbox(stack: Stack) -> AsyncIterator[Api]:
    """The sandbox gateway's control API."""
    client = Api(stack.sandbox_url + "/_sandbox", None)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def configured(api: Api, stack: Stack) -> Api:
    """The API with the SMS gateway pointing at the sandbox."""
    status, body = await api.put("/config/sms", sandbox_sms_config(stack.sandbox_url))
    assert status == 200, body
    return api
