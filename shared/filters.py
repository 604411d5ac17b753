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


def where_clause(
    recipient_type: RecipientType, filters: Filters, *, start: int = 1
) -> tuple[str, list[Any]]:
    """SQL condition and its arguments (numbered from ``$start``) selecting the recipients."""
    params = _Params(start)
    conditions = [f"kind = {params.add(recipient_type)}"]
    for field, column in _TEXT_COLUMNS.items():
        value = getattr(filters, field)
        if value:
            conditions.append(f"{column} ILIKE {params.add(like_pattern(value))}")
    for field, (column, sql_type) in _ANY_COLUMNS.items():
        values = getattr(filters, field)
        if values:
            conditions.append(f"{column} = ANY({params.add(list(values))}::{sql_type})")
    if filters.billing_type and filters.billing_type != "all":
        conditions.append(f"billing_type = {params.add(filters.billing_type)}")
    for field, (column, sql_type) in _OVERLAP_COLUMNS.items():
        values = getattr(filters, field)
        if values:
            conditions.append(f"{column} && {params.add(list(values))}::{sql_type}")
    # include_ids are the ticked rows of the confirmation list: an empty list selects nobody.
    if filters.include_ids is not None:
        conditions.append(f"id = ANY({params.add(list(filters.include_ids))}::bigint[])")
    if filters.exclude_ids:
        conditions.append(f"NOT (id = ANY({params.add(list(filters.exclude_ids))}::bigint[]))")
    return " AND ".join(conditions), params.values
