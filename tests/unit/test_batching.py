"""The sender's micro-batches (asyncio only, no services)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from services.sender.batching import Batcher
from tests.support.eventually import eventually

pytestmark = pytest.mark.timeout(5)


async def test_a_lone_item_is_handled_at_once() -> None:
    seen: list[list[int]] = []

    async def handle(items: list[int]) -> None:
        seen.append(items)

    batcher = Batcher(handle, max_size=lambda: 10, concurrency=2)
    await asyncio.wait_for(batcher.submit(1), 1)
    assert seen == [[1]]
    await batcher.close(1)


async def test_items_arriving_while_batches_are_busy_are_handled_together() -> None:
    seen: list[list[int]] = []
    release = asyncio.Event()

    async def handle(items: list[int]) -> None:
        seen.append(items)
        await release.wait()

    batcher = Batcher(handle, max_size=lambda: 4, concurrency=1)
    first = asyncio.create_task(batcher.submit(0))
    await eventually(lambda: seen == [[0]], timeout=1, what="the first batch running")
    rest = [asyncio.create_task(batcher.submit(i)) for i in range(1, 10)]
    await eventually(lambda: len(batcher._pending) == 9, timeout=1, what="nine items waiting")
    release.set()
    await asyncio.wait_for(asyncio.gather(first, *rest), 1)
    assert seen == [[0], [1, 2, 3, 4], [5, 6, 7, 8], [9]]
    await batcher.close(1)


async def test_a_failing_handler_still_completes_its_callers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[list[int]] = []

    async def handle(items: list[int]) -> None:
        calls.append(items)
        raise RuntimeError("bug")

    batcher = Batcher(handle, max_size=lambda: 4, concurrency=1)
    with caplog.at_level(logging.ERROR, logger="services.sender.batching"):
        assert await asyncio.wait_for(batcher.submit(1), 1) is True
    assert "a batch of 1 failed" in caplog.text
    # The failure gave its slot back: the next item is handled too.
    assert await asyncio.wait_for(batcher.submit(2), 1) is True
    assert calls == [[1], [2]]
    await batcher.close(1)


async def test_close_waits_for_running_batches() -> None:
    done: list[int] = []
    started = asyncio.Event()

    async def handle(items: list[int]) -> None:
        started.set()
        await asyncio.sleep(0.05)  # the batch's work, still running when close() is called
        done.extend(items)

    batcher = Batcher(handle, max_size=lambda: 4, concurrency=2)
    waiting = asyncio.create_task(batcher.submit(7))
    await asyncio.wait_for(started.wait(), 1)
    await batcher.close(1)
    assert done == [7]
    assert await waiting


async def test_close_hands_back_what_no_batch_has_taken() -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def handle(items: list[int]) -> None:
        started.set()
        await release.wait()

    batcher = Batcher(handle, max_size=lambda: 1, concurrency=1)
    running = asyncio.create_task(batcher.submit(1))
    await asyncio.wait_for(started.wait(), 1)
    queued = asyncio.create_task(batcher.submit(2))
    await eventually(lambda: len(batcher._pending) == 1, timeout=1, what="the second item queued")
    closing = asyncio.create_task(batcher.close(1))
    assert await asyncio.wait_for(queued, 1) is False
    release.set()
    await closing
    assert await running is True
    assert await batcher.submit(3) is False
