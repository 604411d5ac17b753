"""``ledger.merge``: one outcome per message, and a sent outcome is never overwritten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import permutations

import pytest

from shared import ledger
from shared.schemas import Outcome

T0 = datetime(2026, 11, 25, 12, tzinfo=UTC)


def outcome(message_id: int, status: str, *, second: int = 0, error: str | None = None) -> Outcome:
    return Outcome.model_validate(
        {
            "message_id": message_id,
            "status": status,
            "error": error,
            "at": T0 + timedelta(seconds=second),
        }
    )


@pytest.mark.parametrize("order", list(permutations(["sent", "error", "expired", "cancelled"])))
def test_sent_wins_whatever_arrives_before_or_after_it(order: tuple[str, ...]) -> None:
    outcomes = [outcome(7, status, second=i) for i, status in enumerate(order)]
    assert [(o.message_id, o.status) for o in ledger.merge(outcomes)] == [(7, "sent")]


def test_a_later_failure_of_a_sent_message_keeps_the_sent_outcome_itself() -> None:
    sent = outcome(1, "sent", second=0)
    later = outcome(1, "error", second=5, error="gateway timeout on a duplicate job")
    assert ledger.merge([sent, later]) == [sent]


def test_among_failures_an_error_beats_an_expiry_beats_a_cancellation() -> None:
    merged = ledger.merge(
        [
            outcome(1, "cancelled"),
            outcome(1, "expired"),
            outcome(2, "expired"),
            outcome(1, "error", error="refused"),
            outcome(2, "cancelled"),
        ]
    )
    assert [(o.message_id, o.status) for o in merged] == [(1, "error"), (2, "expired")]


def test_a_redelivered_outcome_keeps_the_first_copy() -> None:
    first = outcome(3, "error", second=0, error="first")
    again = outcome(3, "error", second=9, error="again")
    assert ledger.merge([first, again]) == [first]


def test_one_outcome_per_message_in_id_order() -> None:
    merged = ledger.merge([outcome(9, "sent"), outcome(2, "error"), outcome(5, "sent")])
    assert [o.message_id for o in merged] == [2, 5, 9]
    assert ledger.merge([]) == []
