"""Pure rules of resolution: one person and a template become ledger rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from shared import phones, templates
from shared.sms import parts_over
from shared.vocabulary import CHANNELS_OF, Channel, RowStatus, SendTo

IGNORED = "template rendered IGNORE NOTIFICATION"


@dataclass(frozen=True, slots=True)
class Row:
    """One message of the ledger: to one address of one person, on one channel."""

    customer_id: int
    recipient: str
    text: str
    status: RowStatus
    error: str | None = None
    channel: Channel = "sms"
    subject: str = ""
    attachments: tuple[int, ...] = ()
    documents: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class CampaignContent:
    """What a campaign sends, beyond who gets it."""

    message: str
    subject: str = ""
    send_to_billing_email: bool = False
    attachments: tuple[int, ...] = ()
    wants_documents: bool = False
    only_if_documents: bool = False
    max_parts: int = 4
    region: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # company, campaign


def rows_for(
    send_to: str, person: Mapping[str, Any], content: CampaignContent, documents: Sequence[int] = ()
) -> list[Row]:
    """Every ledger row of one person for a campaign sending to ``send_to``."""
    rows: list[Row] = []
    for channel in CHANNELS_OF[cast(SendTo, send_to)]:
        if channel == "sms":
            rows += sms_rows(person, content)
        elif channel == "email":
            rows += email_rows(person, content, documents)
        else:
            rows += portal_rows(person, content)
    return rows


def rows_for_people(
    send_to: str,
    people: Sequence[Mapping[str, Any]],
    content: CampaignContent,
    documents: Mapping[int, Sequence[int]],
) -> list[Row]:
    """Every ledger row of a batch of people (what a render worker runs, under its limits)."""
    return [
        row
        for person in people
        for row in rows_for(send_to, person, content, documents.get(int(person["id"]), ()))
    ]


def sms_rows(person: Mapping[str, Any], content: CampaignContent) -> list[Row]:
    """The SMS rows for one person: one per phone number, errors kept as rows."""
    person_id = int(person["id"])
    numbers = phones.numbers(str(person.get("phone") or ""), content.region)
    try:
        text = templates.render(content.message, _context(person, content))
    except templates.TemplateProblem as exc:
        return [Row(person_id, _address(n), "", "error", str(exc)) for n in numbers] or [
            Row(person_id, "", "", "error", str(exc))
        ]
    if templates.is_ignored(text):
        return [Row(person_id, _address(n), text, "skipped", IGNORED) for n in numbers] or [
            Row(person_id, "", text, "skipped", IGNORED)
        ]
    if not numbers:
        return [Row(person_id, "", text, "error", "no phone number")]
    problem = _text_problem(text, content.max_parts)
    rows = []
    for number in numbers:
        if number.e164 is None:
            rows.append(Row(person_id, number.raw, text, "error", number.error))
        elif problem:
            rows.append(Row(person_id, number.e164, text, "error", problem))
        else:
            rows.append(Row(person_id, number.e164, text, "new"))
    return rows


def email_rows(
    person: Mapping[str, Any], content: CampaignContent, documents: Sequence[int] = ()
) -> list[Row]:
    """The email rows for one person: one per address (billing address when asked)."""
    person_id = int(person["id"])
    field_name = "billing_email" if content.send_to_billing_email else "email"
    addresses = _split_addresses(str(person.get(field_name) or ""))

    def rows(status: RowStatus, error: str | None, subject: str = "", body: str = "") -> list[Row]:
        return [
            Row(
                person_id,
                address,
                body,
                status,
                error,
                "email",
                subject,
                content.attachments,
                tuple(documents),
            )
            for address in addresses or [""]
        ]

    rendered = _render_both(person, content, html=True)
    if isinstance(rendered, str):  # a template problem
        return rows("error", rendered)
    subject, body = rendered
    if templates.is_ignored(body):
        return rows("skipped", IGNORED, subject, body)
    if content.only_if_documents and not documents:
        return rows("skipped", "no financial documents to attach", subject, body)
    if not addresses:
        if content.send_to_billing_email:
            return rows("skipped", "no billing email address", subject, body)
        return rows("error", "no email address", subject, body)
    return [
        Row(
            person_id,
            address,
            body,
            "new" if _valid_address(address) else "error",
            None if _valid_address(address) else "invalid email address",
            "email",
            subject,
            content.attachments,
            tuple(documents),
        )
        for address in addresses
    ]


def portal_rows(person: Mapping[str, Any], content: CampaignContent) -> list[Row]:
    """The portal row for one person: a message in their customer-portal inbox."""
    person_id = int(person["id"])
    rendered = _render_both(person, content, html=True)
    if isinstance(rendered, str):
        return [Row(person_id, "portal", "", "error", rendered, channel="portal")]
    subject, body = rendered
    if templates.is_ignored(body):
        return [Row(person_id, "portal", body, "skipped", IGNORED, "portal", subject)]
    return [Row(person_id, "portal", body, "new", None, "portal", subject)]


def _context(person: Mapping[str, Any], content: CampaignContent) -> dict[str, Any]:
    return {**content.extra, "customer": templates.person_context(person)}


def _render_both(
    person: Mapping[str, Any], content: CampaignContent, *, html: bool
) -> tuple[str, str] | str:
    """(subject, body), or the problem's text."""
    context = _context(person, content)
    try:
        return (
            templates.render(content.subject, context),
            templates.render(content.message, context, html=html),
        )
    except templates.TemplateProblem as exc:
        return str(exc)


def _split_addresses(field_value: str) -> list[str]:
    seen: dict[str, None] = {}
    for part in field_value.replace(";", ",").split(","):
        if part.strip():
            seen.setdefault(part.strip(), None)
    return list(seen)


def _valid_address(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and "." in domain and not any(c in address for c in " <>\r\n,"))


def _address(number: phones.Number) -> str:
    return number.e164 or number.raw


def _text_problem(text: str, max_parts: int) -> str | None:
    if not text.strip():
        return "the message rendered empty"
    parts = parts_over(text, max_parts)
    if parts is not None:
        return f"the message needs {parts} SMS parts, more than max_parts={max_parts}"
    return None
