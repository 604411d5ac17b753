import re

import pytest
from pydantic import ValidationError

from shared.filters import count_query, like_pattern, where_clause
from shared.models import Filters


def test_no_filters_selects_the_whole_kind() -> None:
    sql, args = where_clause("customer", Filters())
    assert sql == "kind = $1"
    assert args == ["customer"]


def test_every_filter_becomes_a_parameter() -> None:
    filters = Filters(
        login="0001",
        status=["active", "blocked"],
        full_name="doe",
        email="@example",
        billing_email="bill",
        phone="+27",
        category=["company"],
        location_ids=[1, 2],
        partner_ids=[3],
        billing_type="prepaid",
        tariff_ids=[10, 11],
        services=["internet"],
        include_ids=[5, 6],
        exclude_ids=[6],
    )
    sql, args = where_clause("lead", filters, start=3)
    placeholders = [int(n) for n in re.findall(r"\$(\d+)", sql)]
    assert placeholders == list(range(3, 3 + len(args)))
    assert args[0] == "lead"
    assert "%doe%" in args and "%+27%" in args and "%0001%" in args
    assert ["active", "blocked"] in args and [10, 11] in args and ["internet"] in args
    assert "prepaid" in args
    for fragment in (
        "login ILIKE",
        "status = ANY(",
        "category = ANY(",
        "location_id = ANY(",
        "partner_id = ANY(",
        "billing_type = ",
        "tariff_ids && ",
        "service_types && ",
        "id = ANY(",
        "NOT (id = ANY(",
    ):
        assert fragment in sql
    # No user value ever reaches the SQL text.
    for value in ("doe", "0001", "active", "prepaid", "internet"):
        assert value not in sql


def test_billing_type_all_and_empty_lists_do_not_filter() -> None:
    sql, args = where_clause("customer", Filters(billing_type="all", status=[], partner_ids=[]))
    assert sql == "kind = $1" and args == ["customer"]


def test_empty_include_list_selects_nobody() -> None:
    sql, args = where_clause("customer", Filters(include_ids=[]))
    assert "id = ANY($2::bigint[])" in sql and args[1] == []


def test_like_wildcards_are_escaped() -> None:
    assert like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"


def test_injection_attempt_stays_a_value() -> None:
    hostile = "x' OR 1=1; DROP TABLE people; --"
    sql, args = where_clause("customer", Filters(full_name=hostile))
    assert hostile not in sql and f"%{hostile}%" in args


@pytest.mark.parametrize(
    "bad",
    [{"unknown": 1}, {"status": ["gone"]}, {"category": ["x"]}, {"location_ids": [0]}],
)
def test_bad_filters_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Filters.model_validate(bad)


def test_count_of_group_columns_sums_people_counts() -> None:
    filters = Filters(
        status=["active"],
        category=["private"],
        location_ids=[1],
        partner_ids=[1],
        billing_type="recurring",
        tariff_ids=[10],
        services=["internet"],
    )
    sql, args = count_query("customer", filters)
    where, where_args = where_clause("customer", filters)
    assert sql == f"SELECT coalesce(sum(members), 0)::bigint FROM people_counts WHERE {where}"
    assert args == where_args
    assert count_query("lead", Filters())[0].endswith("FROM people_counts WHERE kind = $1")


@pytest.mark.parametrize(
    "filters",
    [
        Filters(status=["active"], full_name="doe"),
        Filters(login="01"),
        Filters(email="@x"),
        Filters(billing_email="@x"),
        Filters(phone="+27"),
        Filters(include_ids=[]),
        Filters(partner_ids=[1], exclude_ids=[5]),
    ],
)
def test_count_of_other_columns_reads_people(filters: Filters) -> None:
    sql, args = count_query("customer", filters)
    where, where_args = where_clause("customer", filters)
    assert sql == f"SELECT count(*) FROM people WHERE {where}"
    assert args == where_args
