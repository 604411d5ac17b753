"""``ledger.merge``: one outcome per message, and a sent one wins over any other."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from shared import ledger, vocabulary
from shared.ledger import outcomes
from shared.schemas import Outcome, OutcomeStatus

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _outcome(message_id: int, status: OutcomeStatus, error: str | None = None) -> Outcome:
    return Outcome(message_id=message_id, status=status, error=error, at=AT)


def test_every_outcome_status_has_a_rank() -> None:
    assert set(outcomes._RANK) == set(vocabulary.OUTCOME_STATUSES)


@pytest.mark.parametrize("other", ["error", "expired", "cancelled"])
def test_sent_wins_in_either_order(other: OutcomeStatus) -> None:
    for pair in itertools.permutations([_outcome(7, "sent"), _outcome(7, other, "late")]):
        [merged] = ledger.merge(list(pair))
        assert merged.status == "sent" and merged.error is None


def test_an_error_wins_over_expiry_and_cancelling() -> None:
    for order in itertools.permutations(["cancelled", "expired", "error"]):
        statuses: list[OutcomeStatus] = list(order)  # type: ignore[arg-type]
        [merged] = ledger.merge([_outcome(1, s, s) for s in statuses])
        assert merged.status == "error"


def test_the_first_of_equal_outcomes_is_kept() -> None:
    merged = ledger.merge([_outcome(3, "error", "first"), _outcome(3, "error", "second")])
    assert [o.error for o in merged] == ["first"]


def test_one_outcome_per_message_in_id_order() -> None:
    merged = ledger.merge(
        [_outcome(9, "error"), _outcome(2, "sent"), _outcome(9, "sent"), _outcome(5, "expired")]
    )
    assert [(o.message_id, o.status) for o in merged] == [(2, "sent"), (5, "expired"), (9, "sent")]
    assert ledger.merge([]) == []
