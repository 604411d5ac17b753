from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from shared.periods import period_range

JHB = ZoneInfo("Africa/Johannesburg")
# 2026-03-01 00:30 in Johannesburg is still February in UTC.
NOW = datetime(2026, 2, 28, 22, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("today", datetime(2026, 3, 1, tzinfo=JHB), datetime(2026, 3, 2, tzinfo=JHB)),
        ("yesterday", datetime(2026, 2, 28, tzinfo=JHB), datetime(2026, 3, 1, tzinfo=JHB)),
        ("last_7_days", datetime(2026, 2, 23, tzinfo=JHB), datetime(2026, 3, 2, tzinfo=JHB)),
        ("last_30_days", datetime(2026, 1, 31, tzinfo=JHB), datetime(2026, 3, 2, tzinfo=JHB)),
        ("this_month", datetime(2026, 3, 1, tzinfo=JHB), datetime(2026, 4, 1, tzinfo=JHB)),
        ("last_month", datetime(2026, 2, 1, tzinfo=JHB), datetime(2026, 3, 1, tzinfo=JHB)),
    ],
)
def test_periods_in_the_operators_zone(period: str, start: datetime, end: datetime) -> None:
    assert period_range(period, NOW, JHB) == (start, end)  # type: ignore[arg-type]


def test_january_last_month_is_december() -> None:
    start, end = period_range("last_month", datetime(2026, 1, 15, tzinfo=UTC), ZoneInfo("UTC"))
    assert (start, end) == (
        datetime(2025, 12, 1, tzinfo=ZoneInfo("UTC")),
        datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")),
    )


def test_custom_passes_through() -> None:
    a, b = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    assert period_range("custom", NOW, JHB, a, b) == (a, b)
