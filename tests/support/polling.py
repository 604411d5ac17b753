"""Waiting for a condition instead of sleeping a fixed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], within: float = 10.0, every: float = 0.05
) -> T:
    """The first truthy value ``probe`` returns, polling every ``every`` seconds; an
    AssertionError with the last value when ``within`` seconds pass without one."""
    deadline = time.monotonic() + within
    last: T | None = None
    while True:
        last = await probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"not true within {within} s; last value: {last!r}")
        await asyncio.sleep(every)
