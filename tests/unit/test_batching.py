"""The sender's micro-batches (asyncio only, no services)."""

from __future__ import annotations

import asyncio

from services.sender.batching import Batcher


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
    await asyncio.sleep(0.01)
    rest = [asyncio.create_task(batcher.submit(i)) for i in range(1, 10)]
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.wait_for(asyncio.gather(first, *rest), 1)
    assert seen == [[0], [1, 2, 3, 4], [5, 6, 7, 8], [9]]
    await batcher.close(1)


async def test_a_failing_handler_still_completes_its_callers() -> None:
    async def handle(items: list[int]) -> None:
        raise RuntimeError("bug")

    batcher = Batcher(handle, max_size=lambda: 4, concurrency=1)
    await asyncio.wait_for(batcher.submit(1), 1)
    await batcher.close(1)


async def test_close_waits_for_running_batches() -> None:
    done: list[int] = []

    async def handle(items: list[int]) -> None:
        await asyncio.sleep(0.05)
        done.extend(items)

    batcher = Batcher(handle, max_size=lambda: 4, concurrency=2)
    waiting = asyncio.create_task(batcher.submit(7))
    await asyncio.sleep(0.01)
    await batcher.close(1)
    assert done == [7]
    assert await waiting


async def test_close_hands_back_what_no_batch_has_taken() -> None:
    release = asyncio.Event()

    async def handle(items: list[int]) -> None:
        await release.wait()

    batcher = Batcher(handle, max_size=lambda: 1, concurrency=1)
    running = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0.01)
    queued = asyncio.create_task(batcher.submit(2))
    await asyncio.sleep(0.01)
    closing = asyncio.create_task(batcher.close(1))
    assert await asyncio.wait_for(queued, 1) is False
    release.set()
    await closing
    assert await running is True
    assert await batcher.submit(3) is False
