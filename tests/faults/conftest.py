"""Fixtures of the fault-injection suite: a stack with two senders, and the summary table.

Run with ``python -m pytest -m faults tests/faults`` (the default suite excludes ``slow``).
The scenarios that restart the machine's RabbitMQ or Postgres are marked ``machine_wide``,
run last, one at a time (a lock file serialises them across concurrent runs); leave them out
with ``-m "faults and not machine_wide"``.
"""

from __future__ import annotations

import fcntl
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from demo.client import Api
from demo.stack import Stack
from tests.conftest import Isolated
from tests.faults.harness import SENDERS, SUMMARIES, TABLE_HEADER, FaultRun, TcpProxy

MACHINE_WIDE_LOCK = Path("/tmp/herald-faults-machine-wide.lock")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: fault-injection scenarios (tests/faults)")
    config.addinivalue_line(
        "markers",
        "machine_wide: restarts the machine's RabbitMQ or Postgres (run last, one at a time)",
    )
    config.addinivalue_line(
        "markers", "scenario(name): the scenario's name in the fault-injection summary"
    )
    config.addinivalue_line(
        "markers", "stack_env(**env): extra environment for the fault stack's processes"
    )
    config.addinivalue_line(
        "markers", "db_proxy: the stack reaches Postgres through a relay the test can cut"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Scenarios that restart shared servers go last (a stable sort keeps the others' order).
    items.sort(key=lambda item: item.get_closest_marker("machine_wide") is not None)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SUMMARIES:
        return
    terminalreporter.section("fault injection summary")
    summaries = sorted(SUMMARIES, key=lambda s: s.scenario)
    for summary in summaries:
        terminalreporter.write_line(summary.line())
    terminalreporter.write_line("")
    terminalreporter.write_line(TABLE_HEADER)
    for summary in summaries:
        terminalreporter.write_line(summary.row())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    summary = getattr(item, "fault_summary", None)
    if summary is not None and (report.when == "call" or report.failed):
        if hasattr(report, "wasxfail"):
            summary.result = "xfailed (known bug)" if report.skipped else "XPASS"
        elif report.failed and summary.result in ("", "passed"):
            summary.result = "failed" if report.when == "call" else f"error in {report.when}"
        elif report.passed and not summary.result:
            summary.result = "passed"
    return report


@pytest.fixture
def db_proxy(isolated: Isolated, request: pytest.FixtureRequest) -> Iterator[TcpProxy | None]:
    """For scenarios marked ``db_proxy``: a relay between the stack and Postgres that the
    scenario can cut, so that only this stack loses its database."""
    if request.node.get_closest_marker("db_proxy") is None:
        yield None
        return
    parts = urlsplit(isolated.database_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture
def fault_stack(
    isolated: Isolated,
    db_proxy: TcpProxy | None,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Stack]:
    """The sandbox, the campaign API, resolver, logger and two senders, as real processes."""
    marker = request.node.get_closest_marker("stack_env")
    env = {k: str(v) for k, v in marker.kwargs.items()} if marker else {}
    database_url = db_proxy.url(isolated.database_url) if db_proxy else isolated.database_url
    running = Stack(database_url, isolated.amqp_url, tmp_path / "logs", extra_env=env)
    try:
        running.start_all(senders=SENDERS)
        yield running
    finally:
        # FaultRun.stop_cleanly stops them and asserts clean exits; this only cleans up
        # after a scenario that failed before that point.
        running.stop_all()


@pytest.fixture
async def fault_run(
    fault_stack: Stack,
    isolated: Isolated,
    db_proxy: TcpProxy | None,
    request: pytest.FixtureRequest,
) -> AsyncIterator[FaultRun]:
    marker = request.node.get_closest_marker("scenario")
    name = str(marker.args[0]) if marker else request.node.name
    api = Api(fault_stack.api_url, fault_stack.token)
    sandbox = Api(fault_stack.sandbox_url + "/_sandbox", None)
    try:
        run = FaultRun(
            name,
            fault_stack,
            api,
            sandbox,
            database_url=isolated.database_url,
            db_proxy=db_proxy,
        )
        request.node.fault_summary = run.summary
        yield run
    finally:
        await api.close()
        await sandbox.close()


@pytest.fixture
def machine_wide() -> Iterator[None]:
    """Held while a scenario restarts a shared server: one such restart at a time."""
    with MACHINE_WIDE_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
