"""History periods (Today, Yesterday, Last 7 days…) as time ranges in the operator's zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Period = Literal[
    "today", "yesterday", "last_7_days", "last_30_days", "this_month", "last_month", "custom"
]
PERIODS: tuple[str, ...] = (
    "today",
    "yesterday",
    "last_7_days",
    "last_30_days",
    "this_month",
    "last_month",
    "custom",
)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def period_range(
    period: Period,
    now: datetime,
    zone: ZoneInfo,
    start: datetime | None = None,
    end: datetime | None = None,
) -> tuple[datetime | None, datetime | None]:
    """[start, end) of a period; "last N days" include today. ``custom`` takes start/end."""
    today = now.astimezone(zone).date()
    if period == "today":
        return _midnight(today, zone), _midnight(today + timedelta(days=1), zone)
    if period == "yesterday":
        return _midnight(today - timedelta(days=1), zone), _midnight(today, zone)
    if period in ("last_7_days", "last_30_days"):
        days = 7 if period == "last_7_days" else 30
        return (
            _midnight(today - timedelta(days=days - 1), zone),
            _midnight(today + timedelta(days=1), zone),
        )
    first = today.replace(day=1)
    if period == "this_month":
        following = (first + timedelta(days=32)).replace(day=1)
        return _midnight(first, zone), _midnight(following, zone)
    if period == "last_month":
        previous = (first - timedelta(days=1)).replace(day=1)
        return _midnight(previous, zone), _midnight(first, zone)
    return start, end
