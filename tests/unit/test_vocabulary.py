"""The one vocabulary: statuses, the campaign state machine, labels."""

from __future__ import annotations

import pathlib
import re

import pytest

from shared import vocabulary as v


def test_pending_and_final_split_every_message_status() -> None:
    assert set(v.PENDING) | set(v.FINAL) == set(v.MESSAGE_STATUSES)
    assert not set(v.PENDING) & set(v.FINAL)
    assert set(v.OUTCOME_STATUSES) <= set(v.FINAL)
    assert set(v.FAILED) <= set(v.FINAL)


def test_removed_is_the_only_dead_end() -> None:
    dead_ends = [s for s, targets in v.CAMPAIGN_TRANSITIONS.items() if not targets]
    assert dead_ends == ["removed"]


@pytest.mark.parametrize("status", ["sent", "sent_with_error", "failed", "cancelled"])
def test_finished_campaigns_can_only_be_removed(status: str) -> None:
    assert v.CAMPAIGN_TRANSITIONS[status] == frozenset({"removed"})  # type: ignore[index]


@pytest.mark.parametrize(
    ("move", "status", "allowed"),
    [
        ("start", "new", True),
        ("start", "paused", False),
        ("pause", "processing", True),
        ("pause", "sent", False),
        ("resume", "paused", True),
        ("resume", "processing", False),
        ("cancel", "paused", True),
        ("cancel", "cancelled", False),
        ("finish", "paused", False),
        ("remove", "removed", False),
        ("remove", "sent", True),
    ],
)
def test_moves(move: v.CampaignMove, status: str, allowed: bool) -> None:
    assert v.may(move, status) is allowed


def test_sources_keep_vocabulary_order() -> None:
    assert v.sources_of("cancel") == ("new", "scheduled", "processing", "paused")


def test_transitions_follow_moves() -> None:
    assert v.can_transition("processing", "sent")
    assert not v.can_transition("sent", "processing")
    assert not v.can_transition("nonsense", "sent")


def test_labels_are_the_consoles() -> None:
    assert [v.label(s) for s in v.CAMPAIGN_STATUSES] == [
        "New",
        "Scheduled",
        "Processing",
        "Paused",
        "Sent",
        "Sent with error",
        "Failed",
        "Cancelled",
        "Removed",
    ]


def test_check_constraint_quotes_values() -> None:
    assert v.check_constraint("status", ("a", "b'c")) == "CHECK (status IN ('a', 'b''c'))"


def test_single_move_targets() -> None:
    assert v.target_of("start") == "processing"
    assert v.target_of("fail") == "failed"
    with pytest.raises(ValueError, match="finish"):
        v.target_of("finish")
    targets = {v.finish_target(with_errors=True), v.finish_target(with_errors=False)}
    assert targets == v.CAMPAIGN_MOVES["finish"][1]


# SQL the pipeline services run still names single statuses ('new', 'sending'): each must be
# a word of the vocabulary, or a typo would silently match no row.
_SQL_STATUS = re.compile(r"status\s*(?:=|<>|!=)\s*'(\w+)'|THEN '(\w+)'")
_PIPELINE = ("services/resolver", "services/sender", "services/logger", "shared/ledger")
_OTHER_TABLES = {"paid"}  # documents.status: the billing system's word, not Herald's


def test_statuses_named_in_pipeline_sql_are_the_vocabularys() -> None:
    root = pathlib.Path(__file__).resolve().parents[2]
    named = {
        word
        for folder in _PIPELINE
        for path in (root / folder).glob("*.py")
        for match in _SQL_STATUS.finditer(path.read_text(encoding="utf-8"))
        for word in match.groups()
        if word and word not in _OTHER_TABLES
    }
    assert named, "no status named in SQL: the pattern no longer matches"
    assert named <= set(v.MESSAGE_STATUSES) | set(v.CAMPAIGN_STATUSES), named
