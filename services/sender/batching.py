"""Micro-batches of deliveries: what arrives while earlier batches are busy is handled together.

No timer: a batch starts as soon as a slot is free, so a lone job (a test send) goes at once,
and batches only grow when the work behind them is the bottleneck.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)


class Batcher(Generic[T]):
    """``await submit(item)`` returns True once ``handle`` has run on a batch holding
    ``item``, False if the batcher closed first; ``max_size`` is asked before each batch
    (settings change while running)."""

    def __init__(
        self,
        handle: Callable[[list[T]], Awaitable[None]],
        *,
        max_size: Callable[[], int],
        concurrency: int,
    ) -> None:
        self._handle = handle
        self.max_size = max_size
        self._slots = asyncio.Semaphore(concurrency)
        self._pending: list[tuple[T, asyncio.Future[bool]]] = []
        self._wake = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._batches: set[asyncio.Task[None]] = set()
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"<Batcher pending={len(self._pending)} batches={len(self._batches)}"
            f" max_size={self.max_size()} closed={self._closed}>"
        )

    async def submit(self, item: T) -> bool:
        """Queue ``item`` for the next batch and wait until that batch has been handled."""
        if self._closed:
            return False
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        self._wake.set()
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run())
        # The batch completes the item whatever happens; shielded so that a cancelled caller
        # does not leave its item half handled.
        return await asyncio.shield(done)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            await self._slots.acquire()
            # One turn of the loop: deliveries already read from the socket join this batch.
            await asyncio.sleep(0)
            size = max(1, self.max_size())
            taken = self._pending[:size]
            del self._pending[:size]
            if not self._pending:
                self._wake.clear()
            if not taken:
                self._slots.release()
                continue
            task = asyncio.create_task(self._one(taken))
            self._batches.add(task)
            task.add_done_callback(self._batches.discard)

    async def _one(self, taken: list[tuple[T, asyncio.Future[bool]]]) -> None:
        try:
            await self._handle([item for item, _ in taken])
        except Exception:
            # The handler handles its own failures; this is a bug, and the items' deliveries
            # stay unacked until the channel closes and the broker hands them out again.
            log.exception("a batch of %d failed", len(taken))
        finally:
            self._slots.release()
            for _, done in taken:
                if not done.done():
                    done.set_result(True)

    async def close(self, seconds: float) -> None:
        """Start no more batches (what waits is handed back: ``submit`` returns False), and
        wait up to ``seconds`` for the running ones; they are never cancelled, a call
        cut short would be a send without its outcome."""
        self._closed = True
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        waiting, self._pending = self._pending, []
        for _, done in waiting:
            if not done.done():
                done.set_result(False)
        if self._batches:
            await asyncio.wait(set(self._batches), timeout=seconds)
