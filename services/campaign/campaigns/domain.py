"""Pure rules of the campaign API: request fingerprints, rendering checks, campaign views."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.campaign.campaigns.answers import Campaign, CampaignHistoryItem
from shared import templates
from shared.sms import parts_over

MAX_IDEMPOTENCY_KEY = 200


def request_hash(request: dict[str, Any]) -> str:
    """A fingerprint of a campaign request, independent of key order."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class RecipientProblem(ValueError):
    """A template that fails for one recipient."""

    def __init__(self, person_id: int, problem: str) -> None:
        super().__init__(f"{problem} (for recipient {person_id})")
        self.person_id = person_id
        self.problem = problem

    def __reduce__(self) -> tuple[type[RecipientProblem], tuple[int, str]]:
        return RecipientProblem, (self.person_id, self.problem)  # raised in a render worker


@dataclass(frozen=True)
class Rendering:
    """The first recipient's message and subject, and every recipient whose SMS would be
    longer than ``max_parts``."""

    text: str | None
    subject: str | None
    too_long: tuple[str, ...] = ()


def render_each(
    people: Sequence[Mapping[str, Any]],
    source: str,
    subject_source: str,
    variables: Mapping[str, Any],
    *,
    html: bool,
) -> list[tuple[str, str]]:
    """The message and subject rendered for each person; a template failing for anyone is a
    RecipientProblem naming the first one."""
    renderings = []
    for person in people:
        values = {**variables, "customer": templates.person_context(person)}
        try:
            text = templates.render(source, values, html=html)
            subject = templates.render(subject_source, values)
        except templates.TemplateProblem as exc:
            raise RecipientProblem(int(person["id"]), str(exc)) from None
        renderings.append((text, subject))
    return renderings


def check_renderings(
    people: Sequence[Mapping[str, Any]],
    renderings: Sequence[tuple[str, str]],
    max_parts: int | None,
) -> Rendering:
    """The first person's rendering, and (SMS: ``max_parts`` given) every person whose message
    needs more parts; a rendering that means "send nothing" is not counted."""
    too_long = []
    if max_parts is not None:
        for person, (text, _) in zip(people, renderings, strict=True):
            parts = None if templates.is_ignored(text) else parts_over(text, max_parts)
            if parts is not None:
                too_long.append(f"recipient {person['id']} needs {parts} parts")
    if not renderings:
        return Rendering(None, None)
    text, subject = renderings[0]
    return Rendering(text, subject, tuple(too_long))


def _view(row: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in row.items() if k not in ("request", "request_hash")}
    request = row.get("request") or {}
    for key in (
        "send_to_billing_email",
        "attachments",
        "attach_financial_documents",
        "only_if_financial_documents_exist",
    ):
        if key in request:
            view[key] = request[key]
    counts: dict[str, int] | None = row.get("counts")
    if counts is not None and row.get("resolved_at") is None:
        # Still resolving: the stored total is not final, the ledger is the truth so far.
        view["total"] = sum(counts.values())
    return view


def campaign_view(row: dict[str, Any]) -> Campaign:
    """The API's answer for a campaign row (with ``counts``)."""
    return Campaign.model_validate(_view(row))


def history_row(row: dict[str, Any]) -> CampaignHistoryItem:
    """A campaign as one line of the history: channel, subject or first line, totals."""
    first_line = (row.get("message") or "").strip().splitlines()
    title = row.get("subject") or (first_line[0][:120] if first_line else "")
    return CampaignHistoryItem.model_validate({**_view(row), "title": title})
