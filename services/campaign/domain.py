"""Pure rules of the campaign API: request fingerprints, campaign views."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from services.campaign.campaign_answers import Campaign, CampaignHistoryItem

MAX_IDEMPOTENCY_KEY = 200


def request_hash(request: dict[str, Any]) -> str:
    """A fingerprint of a campaign request, independent of key order."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


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
