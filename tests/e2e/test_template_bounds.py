"""Hostile templates against the real API process: it keeps answering, its memory stays put,
each hostile preview is a 422 within 2 s, and SIGTERM still stops it with no process left."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from demo.client import Api
from demo.stack import Stack
from tests.conftest import Isolated

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

HOSTILE = [
    "{{ [1]|slice(100000000)|list|length }}",  # issue 13: froze the API, RSS past 3 GB
    "{{ [1]|batch(10**9, 0)|list|length }}",
    "{{ ('x'*10000).replace('', 'y'*10000)|length }}",
    "{{ ([[1]*10000]*10000)|sum(start=[])|length }}",  # only the worker's budget stops it
    "{% for i in 'x' * 10000 %}{{ ('x' * 99999)|list|length }}{% endfor %}",  # likewise
]
PREVIEW_SECONDS = 2.0
HEALTH_P99_SECONDS = 0.2
RSS_GROWTH_BYTES = 200 << 20


def _rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) * 1024


def _descendants(pid: int) -> set[int]:
    """Every living process under ``pid`` (the forkserver and its workers)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def _preview(api: Api, message: str) -> tuple[int, float, str]:
    began = time.monotonic()
    status, body = await api.post("/campaigns/preview", {"send_to": "portal", "message": message})
    elapsed = time.monotonic() - began
    detail = body.get("errors", [{}])[0].get("message", "") if isinstance(body, dict) else ""
    return status, elapsed, str(detail)


async def test_hostile_previews_leave_the_api_responsive(api: Api, stack: Stack) -> None:
    status, _ = await api.put("/customers", [{"id": 1, "full_name": "Zoë"}])
    assert status == 200
    status, ok = await api.post(
        "/campaigns/preview", {"send_to": "portal", "message": "Hi {{ customer.full_name }}"}
    )
    assert status == 200, ok
    pid = stack.processes["campaign"].pid
    baseline = _rss(pid)
    peak = baseline
    health: list[float] = []
    done = asyncio.Event()

    async def watch(session: aiohttp.ClientSession) -> None:
        nonlocal peak
        url = f"http://127.0.0.1:{stack.api_port}/health"
        while not done.is_set():
            began = time.monotonic()
            async with session.get(url) as response:
                await response.read()
                assert response.status == 200
            health.append(time.monotonic() - began)
            peak = max(peak, _rss(pid))
            await asyncio.sleep(0.01)

    async with aiohttp.ClientSession() as session:
        watcher = asyncio.create_task(watch(session))
        try:
            previews = await asyncio.gather(*(_preview(api, m) for m in HOSTILE))
        finally:
            done.set()
            await watcher
    peak = max(peak, _rss(pid))

    for message, (status, elapsed, detail) in zip(HOSTILE, previews, strict=True):
        print(f"preview {message[:50]!r}: {status} in {elapsed:.3f} s ({detail})")
    p99 = _p99(health)
    growth = peak - baseline
    print(
        f"/health: {len(health)} requests, p99 {p99 * 1000:.1f} ms,"
        f" max {max(health) * 1000:.1f} ms; API RSS {baseline >> 20} MB,"
        f" growth {growth / (1 << 20):.1f} MB"
    )
    assert all(status == 422 for status, _, _ in previews), previews
    assert all(elapsed < PREVIEW_SECONDS for _, elapsed, _ in previews), previews
    assert p99 < HEALTH_P99_SECONDS
    assert growth < RSS_GROWTH_BYTES

    # Still fine afterwards. Saving the payload as a template compiles it, which
    # folds its constants: in a worker too (it is refused when a preview renders it).
    status, _ = await api.post(
        "/campaigns/preview", {"send_to": "portal", "message": "Hi {{ customer.full_name }}"}
    )
    assert status == 200
    began = time.monotonic()
    status, body = await api.post(
        "/templates", {"title": "t", "channel": "portal", "body": HOSTILE[0]}
    )
    assert status == 201 and time.monotonic() - began < PREVIEW_SECONDS, body

    # SIGTERM stops the API at once, and its render workers with it.
    workers = _descendants(pid)
    assert len(workers) >= 2  # the forkserver and the workers
    began = time.monotonic()
    assert stack.stop("campaign") == 0
    print(f"API stopped in {time.monotonic() - began:.2f} s; {len(workers)} render processes")
    for _ in range(100):  # a forkserver notices its parent's exit within milliseconds
        if not any(_alive(w) for w in workers):
            break
        await asyncio.sleep(0.05)
    assert not any(_alive(w) for w in workers)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


PREVIEW_RATE = 3


@pytest.fixture
async def limited(isolated: Isolated, tmp_path: Path) -> AsyncIterator[Api]:
    """The API alone, with a low preview rate."""
    running = Stack(
        isolated.database_url,
        isolated.amqp_url,
        tmp_path / "logs",
        extra_env={"HERALD_PREVIEW_RATE_PER_MINUTE": str(PREVIEW_RATE)},
    )
    client = Api(running.api_url, running.token)
    try:
        running.start("campaign")
        yield client
    finally:
        await client.close()
        codes = running.stop_all()
        assert all(code == 0 for code in codes.values()), (codes, running.logs()[-3000:])


async def test_previews_have_a_rate_of_their_own(limited: Api) -> None:
    preview = {"send_to": "portal", "message": "Hi"}
    for _ in range(PREVIEW_RATE):
        assert (await limited.post("/campaigns/preview", preview))[0] == 200
    status, problem = await limited.post("/campaigns/preview", preview)
    assert status == 429 and "previews per minute" in problem["detail"], problem
    # Campaigns and test sends keep their own budget.
    assert (await limited.post("/campaigns", {}))[0] == 422
