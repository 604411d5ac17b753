"""Pure rules of resolution: one person and a template become ledger rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from shared import phones, templates
from shared.sms import segment

RowStatus = Literal["new", "error", "skipped"]


@dataclass(frozen=True, slots=True)
class Row:
    """One message of the ledger: to one address of one person."""

    customer_id: int
    recipient: str
    text: str
    status: RowStatus
    error: str | None = None


def sms_rows(
    person: Mapping[str, Any],
    source: str,
    context: Mapping[str, Any],
    *,
    region: str | None,
    max_parts: int,
) -> list[Row]:
    """The SMS rows for one person: one per phone number, errors kept as rows."""
    person_id = int(person["id"])
    numbers = phones.numbers(str(person.get("phone") or ""), region)
    try:
        text = templates.render(source, {**context, "customer": templates.person_context(person)})
    except templates.TemplateProblem as exc:
        return [Row(person_id, _address(n), "", "error", str(exc)) for n in numbers] or [
            Row(person_id, "", "", "error", str(exc))
        ]
    if templates.is_ignored(text):
        reason = "template rendered IGNORE NOTIFICATION"
        return [Row(person_id, _address(n), text, "skipped", reason) for n in numbers] or [
            Row(person_id, "", text, "skipped", reason)
        ]
    if not numbers:
        return [Row(person_id, "", text, "error", "no phone number")]
    problem = _text_problem(text, max_parts)
    rows = []
    for number in numbers:
        if number.e164 is None:
            rows.append(Row(person_id, number.raw, text, "error", number.error))
        elif problem:
            rows.append(Row(person_id, number.e164, text, "error", problem))
        else:
            rows.append(Row(person_id, number.e164, text, "new"))
    return rows


def _address(number: phones.Number) -> str:
    return number.e164 or number.raw


def _text_problem(text: str, max_parts: int) -> str | None:
    if not text.strip():
        return "the message rendered empty"
    parts = segment(text).parts
    if parts > max_parts:
        return f"the message needs {parts} SMS parts, more than max_parts={max_parts}"
    return None
