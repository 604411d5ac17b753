"""A test must not leave asyncio tasks running: they would outlive it, and a task that
ignores cancellation hangs the loop's shutdown (and with it the whole run)."""

from __future__ import annotations

import asyncio
import contextlib

from tests.support.eventually import eventually

# How long tasks that are already finishing (a connection's close handshake) may take.
GRACE_S = 2.0
# How long a leaked task may take to honour its cancellation.
CANCEL_S = 2.0


def _pending() -> list[asyncio.Task[object]]:
    current = asyncio.current_task()
    return [task for task in asyncio.all_tasks() if task is not current and not task.done()]


def _describe(task: asyncio.Task[object]) -> str:
    coro = task.get_coro()
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    where = f" at {code.co_filename}:{code.co_firstlineno}" if code is not None else ""
    return f"{task.get_name()} {getattr(coro, '__qualname__', coro)!r}{where}"


async def leaked_tasks() -> list[str]:
    """The tasks still pending after a grace period, cancelled; empty if there were none."""
    with contextlib.suppress(AssertionError):
        await eventually(lambda: not _pending(), timeout=GRACE_S, what="no task pending")
    leaked = _pending()
    for task in leaked:
        task.cancel()
    if leaked:
        await asyncio.wait(leaked, timeout=CANCEL_S)
    return [_describe(task) for task in leaked]
