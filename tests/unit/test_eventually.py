"""The tests' polling helper: it must return what held, and fail when nothing does."""

from __future__ import annotations

import pytest

from tests.support.eventually import eventually


async def test_returns_the_first_truthy_value_of_a_sync_or_async_condition() -> None:
    answers = iter([0, [], None, [3]])
    assert await eventually(lambda: next(answers), interval=0) == [3]

    calls = 0

    async def third_time() -> str | None:
        nonlocal calls
        calls += 1
        return "ready" if calls == 3 else None

    assert await eventually(third_time, interval=0) == "ready"
    assert calls == 3


async def test_fails_naming_the_condition_and_its_last_value() -> None:
    ready: list[int] = []
    with pytest.raises(
        AssertionError, match=r"^the queue filled did not hold within 0.05s \(last: \[\]\)$"
    ):
        await eventually(lambda: ready, timeout=0.05, interval=0.01, what="the queue filled")
