"""The CHECK constraints of the migrations say what the vocabulary says."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from shared import vocabulary as v


def _migrations() -> dict[str, str]:
    folder = resources.files("shared").joinpath("migrations")
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    }


def _one_line(sql: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"--[^\n]*", "", sql))


def test_campaign_status_check_is_the_vocabulary() -> None:
    sql = _one_line(_migrations()["0007_campaign_status.sql"])
    expected = v.check_constraint("status", v.CAMPAIGN_STATUSES)
    assert f"ADD CONSTRAINT campaigns_status_check {expected};" in sql


def _checked_values(column: str, table_sql: str) -> tuple[str, ...]:
    match = re.search(rf"\b{column}\b[^,]*?CHECK \({column} IN \(([^)]*)\)\)", table_sql)
    assert match, column
    return tuple(value.strip().strip("'") for value in match[1].split(","))


@pytest.mark.parametrize(
    ("column", "values"),
    [("status", v.MESSAGE_STATUSES), ("channel", v.CHANNELS), ("type", v.MESSAGE_TYPES)],
)
def test_message_checks_are_the_vocabulary(column: str, values: tuple[str, ...]) -> None:
    init = _one_line(_migrations()["0001_init.sql"])
    table = init[init.index("CREATE TABLE messages") :].split(");", 1)[0]
    assert _checked_values(column, table) == values
