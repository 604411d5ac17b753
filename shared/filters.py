"""Campaign filters to one parameterised SQL condition over the ``people`` table.

Pure: only column names from the allow-list below are ever written into SQL; every value
travels as a query parameter.
"""

from __future__ import annotations

from typing import Any

from shared.models import Filters, RecipientType

# Text filters: case-insensitive substring match on these columns.
_TEXT_COLUMNS = {
    "login": "login",
    "full_name": "full_name",
    "email": "email",
    "billing_email": "billing_email",
    "phone": "phone",
}
# List filters: the column equals any of the values (an empty list means "no filter").
_ANY_COLUMNS = {
    "status": ("status", "text[]"),
    "category": ("category", "text[]"),
    "location_ids": ("location_id", "bigint[]"),
    "partner_ids": ("partner_id", "bigint[]"),
}
# Array overlap filters on the denormalised service columns.
_OVERLAP_COLUMNS = {
    "tariff_ids": ("tariff_ids", "bigint[]"),
    "services": ("service_types", "text[]"),
}


def like_pattern(text: str) -> str:
    """An ILIKE pattern matching ``text`` anywhere, with LIKE's wildcards escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class _Params:
    def __init__(self, start: int) -> None:
        self.values: list[Any] = []
        self._start = start

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${self._start + len(self.values) - 1}"


# The columns of the people_counts table (migration 0006): one row per distinct combination
# of them, with how many people have it. A count whose filters all use these columns sums a
# few hundred of its rows instead of reading every matching row of the wide people table.
COUNTED_COLUMNS = frozenset(
    {
        "kind",
        "status",
        "category",
        "location_id",
        "partner_id",
        "billing_type",
        "tariff_ids",
        "service_types",
    }
)


def _conditions(
    recipient_type: RecipientType, filters: Filters, params: _Params
) -> list[tuple[str, str]]:
    """(column, SQL condition) of every filter that selects something."""
    conditions = [("kind", f"kind = {params.add(recipient_type)}")]
    for field, column in _TEXT_COLUMNS.items():
        value = getattr(filters, field)
        if value:
            conditions.append((column, f"{column} ILIKE {params.add(like_pattern(value))}"))
    for field, (column, sql_type) in _ANY_COLUMNS.items():
        values = getattr(filters, field)
        if values:
            conditions.append((column, f"{column} = ANY({params.add(list(values))}::{sql_type})"))
    if filters.billing_type and filters.billing_type != "all":
        conditions.append(("billing_type", f"billing_type = {params.add(filters.billing_type)}"))
    for field, (column, sql_type) in _OVERLAP_COLUMNS.items():
        values = getattr(filters, field)
        if values:
            conditions.append((column, f"{column} && {params.add(list(values))}::{sql_type}"))
    # include_ids are the ticked rows of the confirmation list: an empty list selects nobody.
    if filters.include_ids is not None:
        ids = params.add(list(filters.include_ids))
        conditions.append(("id", f"id = ANY({ids}::bigint[])"))
    if filters.exclude_ids:
        ids = params.add(list(filters.exclude_ids))
        conditions.append(("id", f"NOT (id = ANY({ids}::bigint[]))"))
    return conditions


def where_clause(
    recipient_type: RecipientType, filters: Filters, *, start: int = 1
) -> tuple[str, list[Any]]:
    """SQL condition and its arguments (numbered from ``$start``) selecting the recipients."""
    params = _Params(start)
    conditions = _conditions(recipient_type, filters, params)
    return " AND ".join(sql for _, sql in conditions), params.values


def count_query(recipient_type: RecipientType, filters: Filters) -> tuple[str, list[Any]]:
    """A query answering the exact number of recipients, and its arguments.

    From ``people_counts`` when every filter is on one of its columns (the same condition
    holds there: its columns have people's names and types), else ``count(*)`` of ``people``.
    """
    params = _Params(1)
    conditions = _conditions(recipient_type, filters, params)
    where = " AND ".join(sql for _, sql in conditions)
    if {column for column, _ in conditions} <= COUNTED_COLUMNS:
        # sum() of bigint is numeric, and NULL when no group matches.
        return (
            f"SELECT coalesce(sum(members), 0)::bigint FROM people_counts WHERE {where}",
            params.values,
        )
    return f"SELECT count(*) FROM people WHERE {where}", params.values
