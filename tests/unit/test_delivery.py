import pytest

from shared.delivery import delivery_status


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (11, "delivered"),
        (53, "expired"),
        (0, "pending"),
        (10, "pending"),
        (12, "pending"),
        (64, "pending"),
        (22, "failed"),
        (29, "failed"),
        (31, "failed"),
        (50, "failed"),
        (57, "failed"),
        (70, "unknown"),
        (999, "unknown"),
    ],
)
def test_bulksms_codes(code: int, status: str) -> None:
    assert delivery_status(code) == status
