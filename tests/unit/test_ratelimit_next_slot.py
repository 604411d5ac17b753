"""``SharedRateLimiter._next_slot``: slots handed out in order, late ones dropped, and one
reservation round trip at a time sized for everyone waiting (no database: ``_reserve`` and
the clock are the test's)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import SimpleNamespace
from typing import cast

import pytest

from services.sender import ratelimit
from services.sender.ratelimit import LATE_TOLERANCE_S, MAX_SLOTS_PER_RESERVATION, SharedRateLimiter
from shared.db import Pool

NOW = 1_000.0
INTERVAL = 0.1


class Scripted(SharedRateLimiter):
    """Reservations come from ``answers`` (or count up from the clock), and are recorded."""

    def __init__(self, answers: Iterator[list[float]] | None = None) -> None:
        super().__init__(cast(Pool, None), "sms")
        self.counts: list[int] = []
        self.answers = answers
        self.next_free = NOW

    async def _reserve(self, count: int, interval_s: float) -> None:
        self.counts.append(count)
        await asyncio.sleep(0)  # a round trip: other callers run meanwhile
        if self.answers is not None:
            self._slots.extend(next(self.answers))
            return
        self._slots.extend(ratelimit.slot_offsets(self.next_free, count, interval_s))
        self.next_free += count * interval_s


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    fixed = SimpleNamespace(now=NOW)
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: fixed.now))
    return fixed


async def test_a_lone_caller_reserves_one_slot(clock: SimpleNamespace) -> None:
    limiter = Scripted()
    assert await limiter._next_slot(INTERVAL) == NOW
    assert limiter.counts == [1]


async def test_reserved_slots_are_handed_out_in_order_without_a_round_trip(
    clock: SimpleNamespace,
) -> None:
    limiter = Scripted()
    limiter._slots.extend([NOW, NOW + 0.1, NOW + 0.2])
    assert [await limiter._next_slot(INTERVAL) for _ in range(3)] == [NOW, NOW + 0.1, NOW + 0.2]
    assert limiter.counts == []


async def test_slots_later_than_the_tolerance_are_dropped(clock: SimpleNamespace) -> None:
    limiter = Scripted()
    just_late = NOW - LATE_TOLERANCE_S / 2
    limiter._slots.extend([NOW - 5, NOW - 2 * LATE_TOLERANCE_S, just_late, NOW + 1])
    assert await limiter._next_slot(INTERVAL) == just_late
    assert list(limiter._slots) == [NOW + 1]


async def test_a_reservation_that_comes_back_too_late_is_made_again(
    clock: SimpleNamespace,
) -> None:
    limiter = Scripted(iter([[NOW - 1.0, NOW - 0.9], [NOW + 0.5]]))
    assert await limiter._next_slot(INTERVAL) == NOW + 0.5
    assert limiter.counts == [1, 1]


async def test_callers_waiting_on_a_reservation_share_the_next_one(
    clock: SimpleNamespace,
) -> None:
    limiter = Scripted()
    slots = await asyncio.gather(*(limiter._next_slot(INTERVAL) for _ in range(5)))
    # The first caller reserves for itself; the four that queued meanwhile, one round trip.
    assert limiter.counts == [1, 4]
    assert slots == pytest.approx([NOW + i * INTERVAL for i in range(5)])


async def test_one_reservation_holds_at_most_the_cap(clock: SimpleNamespace) -> None:
    limiter = Scripted()
    callers = MAX_SLOTS_PER_RESERVATION + 10
    slots = await asyncio.gather(*(limiter._next_slot(INTERVAL) for _ in range(callers)))
    assert limiter.counts == [1, MAX_SLOTS_PER_RESERVATION, 9]
    assert len(set(slots)) == callers
    assert limiter._waiting == 0
