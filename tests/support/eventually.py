"""Wait for a condition instead of sleeping: poll it until it holds or the timeout passes.

A fixed ``sleep()`` is either too short on a busy machine (a flaky test) or too long
everywhere else (a slow suite); polling the condition the test actually needs is neither.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_INTERVAL_S = 0.05


@overload
async def eventually(
    condition: Callable[[], Awaitable[T]],
    *,
    timeout: float = ...,  # noqa: ASYNC109
    interval: float = ...,
    what: str = ...,
) -> T: ...


@overload
async def eventually(
    condition: Callable[[], T],
    *,
    timeout: float = ...,  # noqa: ASYNC109
    interval: float = ...,
    what: str = ...,
) -> T: ...


async def eventually(
    condition: Callable[[], Any],
    *,
    # Not asyncio.timeout around the call: the failure names the condition and its last value.
    timeout: float = DEFAULT_TIMEOUT_S,  # noqa: ASYNC109
    interval: float = DEFAULT_INTERVAL_S,
    what: str = "condition",
) -> Any:
    """Call ``condition`` (sync or async) until it returns a truthy value, and return that
    value; raise AssertionError naming ``what`` (and the last value) after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout}s (last: {value!r})")
        await asyncio.sleep(interval)
