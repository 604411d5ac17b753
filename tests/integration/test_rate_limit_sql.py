"""The GCRA maths that lives in SQL, run on real Postgres at times the test chooses.

``services/campaign/http/repo.take`` and ``SharedRateLimiter._reserve`` read the time through
``now()`` and ``clock_timestamp()``; ``tests.support.pg_clock`` fixes both, so the very same
statements run at fixed timestamps.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.campaign.http import repo as limits_repo
from services.sender.ratelimit import SharedRateLimiter
from tests.integration.conftest import T0
from tests.support.pg_clock import FixedClock

pytestmark = pytest.mark.timeout(20)


async def tat(clock: FixedClock, name: str) -> datetime:
    found: datetime = await clock.conn.fetchval("SELECT tat FROM rate_limits WHERE name = $1", name)
    return found


# --- the API's per-token budget (http.repo.take) --------------------------------------------


async def test_a_full_budget_allows_a_burst_of_one_period_then_names_the_wait(
    clock: FixedClock,
) -> None:
    rate = 30.0  # per minute: one every 2 s, 30 at once
    for _ in range(30):
        assert await limits_repo.take(clock.pool, "api-token:1", rate) == 0.0
    assert await tat(clock, "api-token:1") == T0 + timedelta(minutes=1)
    assert await limits_repo.take(clock.pool, "api-token:1", rate) == pytest.approx(2.0)
    # A refusal takes nothing from the budget.
    assert await tat(clock, "api-token:1") == T0 + timedelta(minutes=1)


async def test_the_budget_refills_one_request_per_interval(clock: FixedClock) -> None:
    rate = 30.0
    for _ in range(30):
        await limits_repo.take(clock.pool, "api-token:1", rate)
    await clock.at(T0 + timedelta(seconds=1))
    assert await limits_repo.take(clock.pool, "api-token:1", rate) == pytest.approx(1.0)
    await clock.at(T0 + timedelta(seconds=2))
    assert await limits_repo.take(clock.pool, "api-token:1", rate) == 0.0
    assert await limits_repo.take(clock.pool, "api-token:1", rate) == pytest.approx(2.0)


async def test_idle_time_saves_no_more_than_one_period(clock: FixedClock) -> None:
    rate = 60.0
    await limits_repo.take(clock.pool, "api-token:1", rate)
    await clock.at(T0 + timedelta(hours=5))
    allowed = [await limits_repo.take(clock.pool, "api-token:1", rate) for _ in range(61)]
    assert allowed[:60] == [0.0] * 60
    assert allowed[60] == pytest.approx(1.0)


async def test_each_token_has_its_own_budget(clock: FixedClock) -> None:
    assert await limits_repo.take(clock.pool, "api-token:1", 1.0) == 0.0
    assert await limits_repo.take(clock.pool, "api-token:1", 1.0) == pytest.approx(60.0)
    assert await limits_repo.take(clock.pool, "api-token:2", 1.0) == 0.0


async def test_a_wait_is_never_reported_as_zero(clock: FixedClock) -> None:
    rate = 60.0
    for _ in range(60):
        await limits_repo.take(clock.pool, "api-token:1", rate)
    # One microsecond before the next slot frees: a wait too small to show, still a wait.
    await clock.at(T0 + timedelta(seconds=1) - timedelta(microseconds=1))
    assert await limits_repo.take(clock.pool, "api-token:1", rate) == 0.001


# --- the senders' shared gateway limit (SharedRateLimiter._reserve) ------------------------


async def reserve(
    clock: FixedClock, limiter: SharedRateLimiter, count: int, interval_s: float
) -> list[float]:
    await limiter._reserve(count, interval_s)
    slots = list(limiter._slots)
    limiter._slots.clear()
    return [slot - T0.timestamp() for slot in slots]


async def test_a_reservation_starts_now_and_spaces_its_slots_by_the_interval(
    clock: FixedClock,
) -> None:
    limiter = SharedRateLimiter(clock.pool, "sms")
    assert await reserve(clock, limiter, 3, 0.5) == pytest.approx([0.0, 0.5, 1.0])
    assert await tat(clock, "sms") == T0 + timedelta(seconds=1.5)


async def test_processes_sharing_a_gateway_get_disjoint_slots(clock: FixedClock) -> None:
    first, second = SharedRateLimiter(clock.pool, "sms"), SharedRateLimiter(clock.pool, "sms")
    a = await reserve(clock, first, 3, 0.5)
    b = await reserve(clock, second, 2, 0.5)
    c = await reserve(clock, first, 1, 0.5)
    assert a + b + c == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])


async def test_an_idle_gateway_banks_no_slots(clock: FixedClock) -> None:
    limiter = SharedRateLimiter(clock.pool, "sms")
    await reserve(clock, limiter, 4, 0.5)
    await clock.at(T0 + timedelta(seconds=60))
    assert await reserve(clock, limiter, 2, 0.5) == pytest.approx([60.0, 60.5])


async def test_gateways_are_limited_apart(clock: FixedClock) -> None:
    assert await reserve(clock, SharedRateLimiter(clock.pool, "sms"), 2, 1.0) == pytest.approx(
        [0.0, 1.0]
    )
    assert await reserve(clock, SharedRateLimiter(clock.pool, "email"), 1, 1.0) == pytest.approx(
        [0.0]
    )
